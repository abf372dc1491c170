import { describe, expect, it } from 'vitest';
import type { StreamStatus } from '../src/pipeline/status.js';
import { freshnessOf } from '../src/report/freshness.js';
import { freshnessSection } from '../src/report/live-sections.js';

const NOW = Date.parse('2026-03-10T12:30:00Z');
const stream = (source: string, lastSuccess: string | undefined) => ({ source, stream: 'events', last_success_at: lastSuccess }) as unknown as StreamStatus;

describe('freshness against the schedule', () => {
  it('marks a stream late when more than two intervals passed since its last success, and only then', () => {
    const rows = freshnessOf(
      [stream('hourly', '2026-03-10T11:06:00Z'), stream('stale', '2026-03-10T10:06:00Z'), stream('never', undefined), stream('manual', '2026-01-01T00:00:00Z')],
      { hourly: '5 * * * *', stale: '5 * * * *', never: '*/10 * * * *' },
      NOW,
    );
    expect(rows.map((r) => [r.source, r.interval_seconds, r.late])).toEqual([
      ['hourly', 3600, false], // 12:05 came and went, 13:05 has not
      ['stale', 3600, true], // 11:05 and 12:05 both came and went
      ['never', 600, false],
      ['manual', undefined, false], // no schedule: nothing to be late against
    ]);
    const html = freshnessSection(rows);
    expect(html.match(/>LATE</g)).toHaveLength(1);
    expect(html).toMatch(/never succeeded/);
    expect(html).toMatch(/no schedule/);
  });

  it('counts on the schedule itself: a weekday cron is not late over the weekend', () => {
    const friday = '2026-03-06T09:01:00Z';
    const [monday] = freshnessOf([stream('weekdays', friday)], { weekdays: '0 9 * * 1-5' }, Date.parse('2026-03-09T08:00:00Z'));
    expect(monday).toMatchObject({ interval_seconds: 24 * 3600, late: false }); // next: Monday and Tuesday 09:00
    const [tuesday] = freshnessOf([stream('weekdays', friday)], { weekdays: '0 9 * * 1-5' }, Date.parse('2026-03-10T09:30:00Z'));
    expect(tuesday?.late).toBe(true);
  });
});
