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
  /** More than two intervals since the last success: at least two scheduled runs did not succeed. */
  late: boolean;
}

function intervalAfter(schedule: string, fromMs: number): number | undefined {
  try {
    const [a, b] = new Cron(schedule, { paused: true, timezone: 'UTC' }).nextRuns(2, new Date(fromMs));
    return a && b ? (b.getTime() - a.getTime()) / 1000 : undefined;
  } catch {
    return undefined; // `serve` refuses a bad cron; a report just shows none
  }
}

export function freshnessOf(streams: readonly StreamStatus[], schedules: Readonly<Record<string, string>>, nowMs: number): Freshness[] {
  return streams.map((s) => {
    const schedule = schedules[s.source];
    const lastMs = s.last_success_at ? Date.parse(s.last_success_at) : undefined;
    const interval = schedule ? intervalAfter(schedule, lastMs ?? nowMs) : undefined;
    const age = lastMs === undefined ? undefined : Math.max(0, (nowMs - lastMs) / 1000);
    return {
      source: s.source,
      stream: s.stream,
      schedule,
      interval_seconds: interval,
      last_success_at: s.last_success_at,
      age_seconds: age,
      late: interval !== undefined && age !== undefined && age > 2 * interval,
    };
  });
}
