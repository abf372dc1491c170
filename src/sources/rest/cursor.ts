import { ConfigError } from '../../core/errors.js';
import type { JsonValue } from '../../core/source.js';
import type { CursorConfig } from './config.js';
import { splitPath, valueAt } from './raw-json.js';

/** A cursor field's value: an ISO timestamp, a number, or an opaque string that sorts. */
export type CursorValue = string | number;

const INTEGER = /^-?\d+$/;
const DATE = /^\d{4}-\d\d-\d\d/;

export function cursorOf(record: unknown, field: string): CursorValue | undefined {
  const v = valueAt(record, splitPath(field));
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) ? v : undefined;
}

/** Orders cursor values: numbers and integer strings by value, timestamps by instant, else as text. */
export function compareCursors(a: CursorValue, b: CursorValue): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  const sa = String(a);
  const sb = String(b);
  if (INTEGER.test(sa) && INTEGER.test(sb)) {
    const d = BigInt(sa) - BigInt(sb);
    return d === 0n ? 0 : d > 0n ? 1 : -1;
  }
  if (DATE.test(sa) && DATE.test(sb)) {
    const d = Date.parse(sa) - Date.parse(sb);
    if (Number.isFinite(d) && d !== 0) return Math.sign(d);
  }
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The value sent as `cursor.param`: the checkpoint, minus `lookback` when given, so that a margin
 * behind it is read again (the merge on the key absorbs the overlap).
 */
export function cursorParam(value: CursorValue, cursor: CursorConfig, at: string): string {
  const back = cursor.lookback;
  if (back === undefined || back === 0) return String(value);
  const text = String(value);
  if (typeof back === 'number' && (typeof value === 'number' || INTEGER.test(text))) {
    if (typeof value === 'number') return String(value - back);
    return (BigInt(text) - BigInt(Math.floor(back))).toString();
  }
  const ms = Date.parse(text);
  if (typeof value === 'string' && DATE.test(text) && Number.isFinite(ms)) {
    const backMs = typeof back === 'number' ? back * 1000 : durationMs(back);
    const iso = new Date(ms - backMs).toISOString();
    if (/^\d{4}-\d\d-\d\d$/.test(text)) return iso.slice(0, 10);
    return /\.\d+/.test(text) ? iso : iso.replace(/\.000Z$/, 'Z');
  }
  throw new ConfigError(`${at}.cursor.lookback: the values of "${cursor.field}" (e.g. ${JSON.stringify(value)}) are neither ISO timestamps nor numbers`, {
    hint: 'remove cursor.lookback, or give a number for a numeric cursor and a duration (30m, 6h) for a timestamp',
  });
}

function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  return m ? Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0) : 0;
}

/** Follows the cursor values of the records read, in the order read. */
export class CursorTracker {
  max: CursorValue | undefined;
  /** Every value so far was ≥ the one before, and none was missing. */
  ordered = true;
  #last: CursorValue | undefined;

  see(value: CursorValue | undefined): void {
    if (value === undefined) {
      this.ordered = false;
      return;
    }
    if (this.#last !== undefined && compareCursors(value, this.#last) < 0) this.ordered = false;
    this.#last = value;
    if (this.max === undefined || compareCursors(value, this.max) > 0) this.max = value;
  }
}

/**
 * Where the next run starts. A limited run advances only when its records came in cursor order and
 * the first record it left unread is strictly newer than the last it read: otherwise the records it
 * skipped could sit at or below the new checkpoint and never be read.
 */
export function nextCursor(
  start: CursorValue | undefined,
  seen: CursorTracker,
  limited: { firstUnread: CursorValue | undefined } | undefined,
): CursorValue | undefined {
  const max = seen.max;
  if (max === undefined) return start;
  if (limited && (!seen.ordered || limited.firstUnread === undefined || compareCursors(limited.firstUnread, max) <= 0)) return start;
  return start === undefined || compareCursors(max, start) > 0 ? max : start;
}

/** A cursor stream's checkpoint: `{ "cursor": <highest value stored> }`. */
export function cursorFromState(state: JsonValue | undefined): CursorValue | undefined {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return undefined;
  const v = state.cursor;
  return typeof v === 'string' || typeof v === 'number' ? v : undefined;
}

export const sameCursor = (a: CursorValue | undefined, b: CursorValue | undefined): boolean =>
  a === undefined || b === undefined ? a === b : typeof a === typeof b && compareCursors(a, b) === 0;
