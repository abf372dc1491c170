import { HOUR_MS } from '../../core/hours.js';

export interface Range {
  startMs: number;
  /** Inclusive: the start of the last hour. */
  endMs: number;
}

export const rangeHours = (r: Range): number[] => {
  const out: number[] = [];
  for (let h = r.startMs; h <= r.endMs; h += HOUR_MS) out.push(h);
  return out;
};

/** Consecutive hours grouped into ranges of at most `max` hours. */
export function groupHours(hours: readonly number[], max: number): Range[] {
  const out: Range[] = [];
  for (const h of hours) {
    const last = out.at(-1);
    if (last && h === last.endMs + HOUR_MS && (h - last.startMs) / HOUR_MS < max) last.endMs = h;
    else out.push({ startMs: h, endMs: h });
  }
  return out;
}

/** Halves a range (the first half gets the extra hour); a one-hour range cannot be split. */
export function splitRange(r: Range): [Range, Range] | undefined {
  const n = (r.endMs - r.startMs) / HOUR_MS + 1;
  if (n < 2) return undefined;
  const mid = r.startMs + Math.ceil(n / 2) * HOUR_MS;
  return [
    { startMs: r.startMs, endMs: mid - HOUR_MS },
    { startMs: mid, endMs: r.endMs },
  ];
}

/** `YYYYMMDDTHH`, the Export API's hour format. */
export function exportHour(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}`;
}

export const describeRange = (r: Range): string =>
  r.startMs === r.endMs
    ? new Date(r.startMs).toISOString().slice(0, 13)
    : `${new Date(r.startMs).toISOString().slice(0, 13)}..${new Date(r.endMs).toISOString().slice(0, 13)}`;
