import { ConfigError } from '../core/errors.js';
import { floorHour, HOUR_MS, hoursBetween } from '../core/hours.js';
import type { ObjectStore } from '../core/object-store.js';
import { parseBatchKey, streamPrefix } from '../storage/layout.js';

export interface HourRange {
  startMs: number;
  endMs: number;
}

/**
 * `--start` / `--end`: an ISO date (`2025-03-31`: the whole day) or an ISO time (its hour), UTC
 * unless an offset is given. Both ends are inclusive.
 */
export function parseTimeArg(input: string, which: 'start' | 'end'): number {
  let text = input;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(text)) text = `${text}:00`; // an hour: 2025-01-31T13
  const iso = dateOnly ? `${text}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) {
    throw new ConfigError(`--${which} ${text}: not a date or time`, { hint: 'use an ISO date (2025-01-31) or hour (2025-01-31T13:00Z)' });
  }
  return dateOnly && which === 'end' ? ms + 23 * HOUR_MS : floorHour(ms);
}

/** The hours of a stream present in a store (any batch in the hour's partition), listed once. */
export async function hoursIn(store: ObjectStore, source: string, stream: string): Promise<Set<number>> {
  const out = new Set<number>();
  for await (const o of store.list(streamPrefix(source, stream))) {
    const k = parseBatchKey(o.key);
    if (k && k.source === source && k.stream === stream) out.add(k.hourMs);
  }
  return out;
}

/**
 * DESIGN §3.1: missing = required − in storage − in landing; plus the newest `refreshHours` of the
 * window, fetched again for late data.
 */
export function hoursToFetch(range: HourRange, present: ReadonlySet<number>, refreshHours: number): { missing: number[]; refresh: number[]; all: number[] } {
  const required = [...hoursBetween(range.startMs, range.endMs)];
  const missing = required.filter((h) => !present.has(h));
  const refresh = refreshHours > 0 ? required.slice(-refreshHours).filter((h) => present.has(h)) : [];
  const all = [...new Set([...missing, ...refresh])].sort((a, b) => a - b);
  return { missing, refresh, all };
}
