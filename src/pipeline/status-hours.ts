import { HOUR_MS, hoursBetween } from '../core/hours.js';

/** What is known of one hour of a stream, for the completeness grid and the report. */
export interface HourState {
  hour: string;
  expected: boolean;
  in_landing: boolean;
  in_storage: boolean;
  loaded: boolean;
  /** Rows loaded from the hour's batches (ledger counts; 0 when the warehouse gives none). */
  rows: number;
}

export interface HourRangeText {
  start: string;
  end: string;
  hours: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Consecutive hours (epoch ms, any order) as inclusive ranges. */
export function hourRanges(hours: Iterable<number>): HourRangeText[] {
  const sorted = [...new Set(hours)].sort((a, b) => a - b);
  const out: HourRangeText[] = [];
  let start: number | undefined;
  let prev = 0;
  for (const h of sorted) {
    if (start !== undefined && h === prev + HOUR_MS) {
      prev = h;
      continue;
    }
    if (start !== undefined) out.push({ start: iso(start), end: iso(prev), hours: (prev - start) / HOUR_MS + 1 });
    start = h;
    prev = h;
  }
  if (start !== undefined) out.push({ start: iso(start), end: iso(prev), hours: (prev - start) / HOUR_MS + 1 });
  return out;
}

/**
 * Every hour from the first one known (expected, landed, stored or loaded) to the last, with its
 * state. Hours outside the window with nothing in them are listed too, so a grid has no holes.
 */
export function hourStates(o: {
  window: { startMs: number; endMs: number } | undefined;
  landing: ReadonlySet<number>;
  storage: ReadonlySet<number>;
  loadedRows: ReadonlyMap<number, number>;
}): HourState[] {
  const all = [...o.landing, ...o.storage, ...o.loadedRows.keys()];
  if (o.window) all.push(o.window.startMs, o.window.endMs);
  if (all.length === 0) return [];
  const first = Math.min(...all);
  const last = Math.max(...all);
  const out: HourState[] = [];
  for (const h of hoursBetween(first, last)) {
    out.push({
      hour: iso(h),
      expected: o.window !== undefined && h >= o.window.startMs && h <= o.window.endMs,
      in_landing: o.landing.has(h),
      in_storage: o.storage.has(h),
      loaded: o.loadedRows.has(h),
      rows: o.loadedRows.get(h) ?? 0,
    });
  }
  return out;
}

/** One character per hour: loaded, in storage only, in landing only, missing (expected), none. */
export function hourGlyph(h: HourState): string {
  if (h.loaded && h.in_storage) return '█';
  if (h.in_storage) return '▓';
  if (h.in_landing) return '░';
  if (h.loaded) return '!'; // loaded, but its batch is gone from storage
  return h.expected ? '·' : ' ';
}

/** Hour-by-day rows: `YYYY-MM-DD` and 24 glyphs (UTC), the newest `maxDays` days. */
export function completenessGrid(hours: readonly HourState[], maxDays = 14): Array<{ day: string; cells: string }> {
  const days = new Map<string, string[]>();
  for (const h of hours) {
    const day = h.hour.slice(0, 10);
    const cells = days.get(day) ?? Array.from({ length: 24 }, () => ' ');
    cells[Number(h.hour.slice(11, 13))] = hourGlyph(h);
    days.set(day, cells);
  }
  return [...days.entries()].slice(-maxDays).map(([day, cells]) => ({ day, cells: cells.join('') }));
}
