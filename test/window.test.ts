import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../src/core/hours.js';
import { silentLogger } from '../src/core/logger.js';
import { hoursToFetch, parseTimeArg } from '../src/pipeline/window.js';
import { amplitudeSource } from '../src/sources/amplitude/index.js';
import { describeRange, exportHour, groupHours, rangeHours, splitRange } from '../src/sources/amplitude/ranges.js';

const H = (iso: string) => Date.parse(iso);

describe('window math (UTC, no DST)', () => {
  it('reads --start/--end as ISO dates (whole days) or hours, inclusive', () => {
    expect(parseTimeArg('2025-03-30', 'start')).toBe(H('2025-03-30T00:00:00Z'));
    expect(parseTimeArg('2025-03-30', 'end')).toBe(H('2025-03-30T23:00:00Z'));
    expect(parseTimeArg('2025-03-30T13:45:10Z', 'start')).toBe(H('2025-03-30T13:00:00Z'));
    expect(parseTimeArg('2025-03-30T13', 'end')).toBe(H('2025-03-30T13:00:00Z'));
    expect(parseTimeArg('2025-03-30T13:00+02:00', 'start')).toBe(H('2025-03-30T11:00:00Z'));
    expect(() => parseTimeArg('yesterday', 'start')).toThrow(/--start yesterday/);
  });

  it('keeps 24 hours on the days European and US clocks change (UTC has no DST)', () => {
    for (const day of ['2025-03-30', '2025-10-26', '2025-03-09', '2025-11-02']) {
      const all = hoursToFetch({ startMs: parseTimeArg(day, 'start'), endMs: parseTimeArg(day, 'end') }, new Set(), 0).all;
      expect(all).toHaveLength(24);
    }
  });

  it('asks only for the hours that are neither in storage nor landing, plus the newest refresh hours', () => {
    const start = H('2026-01-01T00:00:00Z');
    const present = new Set([start, start + HOUR_MS, start + 3 * HOUR_MS, start + 5 * HOUR_MS]);
    const r = hoursToFetch({ startMs: start, endMs: start + 5 * HOUR_MS }, present, 2);
    expect(r.missing).toEqual([start + 2 * HOUR_MS, start + 4 * HOUR_MS]);
    expect(r.refresh).toEqual([start + 5 * HOUR_MS]);
    expect(r.all).toEqual([start + 2 * HOUR_MS, start + 4 * HOUR_MS, start + 5 * HOUR_MS]);
  });

  it('derives the Amplitude window from lookback_days and lag_hours in whole hours', () => {
    const config = amplitudeSource.configSchema.parse({ name: 'amplitude', type: 'amplitude', api_key: 'k', secret_key: 's', lookback_days: 2, lag_hours: 3 });
    const source = amplitudeSource.create(config, { log: silentLogger, at: 'sources[0]', configDir: process.cwd(), tempDir: os.tmpdir() }) as Awaited<
      ReturnType<typeof amplitudeSource.create>
    >;
    const now = H('2026-05-10T10:37:00Z');
    const plan = 'window' in source && source.window ? source.window('events', now) : undefined;
    expect(plan).toEqual({ startMs: H('2026-05-08T10:00:00Z'), endMs: H('2026-05-10T07:00:00Z'), refreshHours: 0 });
  });
});

describe('Amplitude ranges', () => {
  const h0 = H('2026-01-01T00:00:00Z');
  const hours = (...n: number[]) => n.map((i) => h0 + i * HOUR_MS);

  it('groups consecutive hours into ranges of at most max hours', () => {
    const ranges = groupHours(hours(0, 1, 2, 3, 5, 6, 9), 3);
    expect(ranges.map(describeRange)).toEqual(['2026-01-01T00..2026-01-01T02', '2026-01-01T03', '2026-01-01T05..2026-01-01T06', '2026-01-01T09']);
  });

  it('splits a range in halves down to one hour', () => {
    const [a, b] = splitRange({ startMs: h0, endMs: h0 + 4 * HOUR_MS }) ?? [];
    expect(rangeHours(a!)).toHaveLength(3);
    expect(rangeHours(b!)).toHaveLength(2);
    expect(splitRange({ startMs: h0, endMs: h0 })).toBeUndefined();
  });

  it('formats hours the way the Export API wants them', () => {
    expect(exportHour(H('2026-01-02T05:00:00Z'))).toBe('20260102T05');
  });
});
