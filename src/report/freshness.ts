import { Cron } from 'croner';
import type { StreamStatus } from '../pipeline/status.js';

/** How recent a stream's last good run is, measured against its source's schedule. */
export interface Freshness {
  source: string;
  stream: string;
  schedule: string | undefined;
  /** The schedule's interval after the last success (cron intervals may vary: weekdays, hours of the day). */
  interval_seconds: number | undefined;
  last_success_at: string | undefined;
  age_seconds: number | undefined;
  /**
   * More than two intervals late: the first two scheduled times after the last success have both
   * passed. Counted on the schedule itself, so a weekday cron is not late over a weekend.
   */
  late: boolean;
}

/** The first two times the schedule fires after `fromMs`, or none for a cron that does not parse. */
function nextTwo(schedule: string, fromMs: number): [number, number] | undefined {
  try {
    const [a, b] = new Cron(schedule, { paused: true, timezone: 'UTC' }).nextRuns(2, new Date(fromMs));
    return a && b ? [a.getTime(), b.getTime()] : undefined;
  } catch {
    return undefined; // `serve` refuses a bad cron; a report just shows none
  }
}

export function freshnessOf(streams: readonly StreamStatus[], schedules: Readonly<Record<string, string>>, nowMs: number): Freshness[] {
  return streams.map((s) => {
    const schedule = schedules[s.source];
    const lastMs = s.last_success_at ? Date.parse(s.last_success_at) : undefined;
    const next = schedule ? nextTwo(schedule, lastMs ?? nowMs) : undefined;
    return {
      source: s.source,
      stream: s.stream,
      schedule,
      interval_seconds: next ? (next[1] - next[0]) / 1000 : undefined,
      last_success_at: s.last_success_at,
      age_seconds: lastMs === undefined ? undefined : Math.max(0, (nowMs - lastMs) / 1000),
      late: lastMs !== undefined && next !== undefined && nowMs > next[1],
    };
  });
}
