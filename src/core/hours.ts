/** Hours and partitions, always in UTC (DESIGN §1: `dt=YYYY-MM-DD/hr=HH`). */
export const HOUR_MS = 3_600_000;

/** Epoch milliseconds of the start of the UTC hour that holds `ms`. */
export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** `dt=YYYY-MM-DD/hr=HH` for the hour that holds `ms`. */
export function partitionOf(ms: number): string {
  const iso = new Date(floorHour(ms)).toISOString();
  return `dt=${iso.slice(0, 10)}/hr=${iso.slice(11, 13)}`;
}

const PARTITION = /dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})/;

/** Start of the hour named by a partition or a key containing one; undefined when none. */
export function hourOfPartition(partitionOrKey: string): number | undefined {
  const m = PARTITION.exec(partitionOrKey);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}:00:00Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Every hour start in [start, end], both inclusive, as epoch ms. */
export function* hoursBetween(startMs: number, endMs: number): Generator<number> {
  for (let h = floorHour(startMs); h <= endMs; h += HOUR_MS) yield h;
}
