import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { type AmplitudeSim, startAmplitudeSim } from '../src/demo/amplitude-sim.js';
import { amplitudeConfigSchema } from '../src/sources/amplitude/config.js';
import { amplitudeSource } from '../src/sources/amplitude/index.js';
import { type AmpWorkspace, ampRun, ampWorkspace, loadedUuids, sorted, storedHours } from './support/amplitude.js';
import { type HostileAmplitudeSim, startHostileAmplitudeSim } from './support/amplitude-hostile.js';
import { listFiles, queryDuck, tempDir } from './support/workspace.js';

const HOUR = 3_600_000;
const START = '2026-01-01T00:00:00Z';
const END_EXCL = Date.parse('2026-01-04T00:00:00Z');
const WINDOW = ['--start', '2026-01-01T00', '--end', '2026-01-03T23'];
const hoursOf = (startIso: string, endExcl: number) => {
  const out: string[] = [];
  for (let h = Date.parse(startIso); h < endExcl; h += HOUR) out.push(`${new Date(h).toISOString().slice(0, 13)}:00:00Z`);
  return out;
};

function expectStorageExact(sim: AmplitudeSim, ws: AmpWorkspace, startIso = START, endExcl = END_EXCL) {
  const { hours, files } = storedHours(ws.lake);
  const want = sim.expectedByHour(startIso, endExcl);
  expect(files.every((f) => /^dt=\d{4}-\d{2}-\d{2}\/hr=\d{2}\/data\.jsonl\.gz$/.test(f))).toBe(true);
  expect(sorted(hours.keys())).toEqual(sorted(want.keys()));
  for (const [hour, uuids] of want) expect(sorted(hours.get(hour) ?? []), hour).toEqual(sorted(uuids));
}

describe('amplitude: backfill', () => {
  let sim: AmplitudeSim;
  beforeAll(async () => {
    sim = await startAmplitudeSim({
      seed: 41,
      pSplit: 0.3,
      partStart: 1,
      emptyHours: [{ start: '2026-01-02T03:00:00Z', hours: 30 }],
      maxBytes: 150_000,
      p504: 0.1,
    });
  });
  afterAll(() => sim.close());

  it('lands one batch per hour holding exactly its events, splitting on 400/504 and filling 404s with empty hours', async () => {
    const ws = ampWorkspace('amp-backfill', sim, { max_hours_per_request: 6 }); // some 6-hour ranges fall inside the empty stretch
    const r = await ampRun(ws, ['run', 'amplitude', ...WINDOW]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(sim.stats.byStatus['400']).toBeGreaterThan(0);
    expect(sim.stats.byStatus['404']).toBeGreaterThan(0);
    expectStorageExact(sim, ws);
    const uuids = await loadedUuids(ws.db);
    expect(uuids.length).toBe(new Set(uuids).size);
    expect(sorted(uuids)).toEqual(sorted(sim.expectedUuids(START, END_EXCL)));

    // Idempotent: a second identical run asks the API nothing and changes nothing.
    const before = sim.requests.length;
    const snapshot = listFiles(ws.lake).map((f) => `${f}:${fs.statSync(path.join(ws.lake, f)).mtimeMs}`);
    const loads = await queryDuck(ws.db, 'SELECT count(*)::INT AS n FROM sluice._loads');
    const again = await ampRun(ws, ['run', 'amplitude', ...WINDOW]);
    expect(again.code).toBe(0);
    expect(sim.requests.length).toBe(before);
    expect(listFiles(ws.lake).map((f) => `${f}:${fs.statSync(path.join(ws.lake, f)).mtimeMs}`)).toEqual(snapshot);
    expect(await queryDuck(ws.db, 'SELECT count(*)::INT AS n FROM sluice._loads')).toEqual(loads);
  });

  it('re-fetches exactly the hours deleted from storage', async () => {
    const ws = ampWorkspace('amp-gaps', sim, { max_hours_per_request: 6 });
    expect((await ampRun(ws, ['run', 'amplitude', ...WINDOW])).code).toBe(0);
    const all = hoursOf(START, END_EXCL);
    const deleted = [all[3], all[4], all[40], all[70]] as string[];
    for (const h of deleted) fs.rmSync(path.join(ws.lake, 'amplitude/events', `dt=${h.slice(0, 10)}`, `hr=${h.slice(11, 13)}`, 'data.jsonl.gz'));
    const n = sim.requests.length;
    const r = await ampRun(ws, ['run', 'amplitude', ...WINDOW]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const asked = new Set(
      sim.requests.slice(n).flatMap((q) => {
        const s = Date.UTC(+q.start.slice(0, 4), +q.start.slice(4, 6) - 1, +q.start.slice(6, 8), +q.start.slice(9, 11));
        const e = Date.UTC(+q.end.slice(0, 4), +q.end.slice(4, 6) - 1, +q.end.slice(6, 8), +q.end.slice(9, 11));
        return hoursOf(new Date(s).toISOString(), e + HOUR);
      }),
    );
    expect(sorted(asked)).toEqual(sorted(deleted));
    expectStorageExact(sim, ws);
  });

  it('picks up late events in the newest refresh_hours, replacing batches and merging rows', async () => {
    const ws = ampWorkspace('amp-refresh', sim, { refresh_hours: 3 });
    expect((await ampRun(ws, ['run', 'amplitude', ...WINDOW])).code).toBe(0);
    const late = sim.addLate('2026-01-03T22:00:00Z', 5);
    const n = sim.requests.length;
    const r = await ampRun(ws, ['run', 'amplitude', ...WINDOW]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(sim.requests.slice(n).every((q) => q.start >= '20260103T21')).toBe(true);
    expectStorageExact(sim, ws);
    const uuids = await loadedUuids(ws.db);
    expect(late.every((u) => uuids.includes(u))).toBe(true);
    expect(uuids.length).toBe(new Set(uuids).size);
  });
});

describe('amplitude: hostile archives and bad input', () => {
  let sim: HostileAmplitudeSim;
  beforeAll(async () => {
    sim = await startHostileAmplitudeSim({ seed: 42 });
  });
  afterAll(() => sim.close());

  for (const kind of ['zip-slip', 'absolute-path', 'bad-name', 'corrupt-zip', 'corrupt-gzip', 'out-of-range', 'zip-bomb'] as const) {
    it(`refuses a ${kind} archive: exit 1, nothing of that range lands, the next run fills it`, async () => {
      const ws = ampWorkspace(`amp-${kind}`, sim);
      sim.setHostile(kind, 1);
      const r = await ampRun(ws, ['run', 'amplitude', ...WINDOW]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/refused the export archive/);
      const { hours } = storedHours(ws.lake);
      expect(hours.size).toBe(48); // two of the three days
      expect(listFiles(ws.dir).some((f) => f.includes('..'))).toBe(false);
      const again = await ampRun(ws, ['run', 'amplitude', ...WINDOW]);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expectStorageExact(sim, ws);
    }, 120_000);
  }

  it('routes lines that are not JSON or lack uuid to sluice._rejects and exits 0', async () => {
    const ws = ampWorkspace('amp-badlines', sim);
    sim.setHostile('bad-lines', 1);
    const r = await ampRun(ws, ['run', 'amplitude', ...WINDOW]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rejects = await queryDuck<{ reason: string; line_number: number }>(ws.db, 'SELECT reason, line_number FROM sluice._rejects');
    expect(rejects.length).toBeGreaterThan(0);
    expect(rejects.every((x) => Number(x.line_number) >= 1)).toBe(true);
    expect(r.stdout).toMatch(/rejected \d+ line/);
  });

  it('stops at once on rejected keys: exit 2, no retry, the secret never printed', async () => {
    const ws = ampWorkspace('amp-badkey', sim, { secret_key: 'wrong-secret-4711x' });
    const n = sim.requests.length;
    const r = await ampRun(ws, ['run', 'amplitude', '--start', '2026-01-01T00', '--end', '2026-01-01T05']);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/secret_key/);
    expect(sim.requests.length - n).toBe(1);
    expect(r.stdout + r.stderr).not.toContain('wrong-secret-4711x');
    expect(listFiles(ws.lake).filter((f) => f.endsWith('.jsonl.gz'))).toEqual([]);
  });
});

describe('amplitude: crash safety', () => {
  it('survives kill -9 at random points of a backfill: the resumed run ends with exactly the served uuids', async () => {
    const sim = await startAmplitudeSim({ seed: 43, latencyMs: 60, p503: 0.05, p429: 0.05 });
    try {
      const ws = ampWorkspace('amp-crash', sim, { max_hours_per_request: 3, concurrency: 2 });
      const window = ['--start', '2026-02-01T00', '--end', '2026-02-05T23'];
      let kills = 0;
      for (let i = 0; i < 8; i++) {
        const r = await ampRun(ws, ['run', 'amplitude', ...window], { killAfterMs: 300 + ((i * 397) % 1500) });
        if (r.killed) kills++;
      }
      expect(kills).toBeGreaterThan(0);
      sim.setFaults({ p503: 0, p429: 0 });
      const r = await ampRun(ws, ['run', 'amplitude', ...window]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expectStorageExact(sim, ws, '2026-02-01T00:00:00Z', Date.parse('2026-02-06T00:00:00Z'));
      const uuids = await loadedUuids(ws.db);
      expect(uuids.length).toBe(new Set(uuids).size);
      expect(sorted(uuids)).toEqual(sorted(sim.expectedUuids('2026-02-01T00:00:00Z', Date.parse('2026-02-06T00:00:00Z'))));
      const landing = listFiles(path.join(ws.dir, '.sluice')).filter((f) => f.includes('.jsonl.gz'));
      expect(landing).toEqual([]);
    } finally {
      await sim.close();
    }
  }, 180_000);
});

describe('amplitude source: a read that ends early', () => {
  it('closes and deletes every downloaded archive it did not land', async () => {
    const sim = await startAmplitudeSim({ seed: 9, meanEventsPerHour: 40 });
    const scratch = tempDir('amp-scratch');
    try {
      const config = amplitudeConfigSchema.parse({
        name: 'amp',
        type: 'amplitude',
        base_url: sim.url,
        api_key: sim.options.apiKey,
        secret_key: sim.options.secretKey,
        concurrency: 4,
        max_hours_per_request: 2,
      });
      const source = await amplitudeSource.create(config, { log: silentLogger, at: 'sources[0]', configDir: process.cwd(), tempDir: os.tmpdir() });
      const hours = Array.from({ length: 24 }, (_, i) => Date.parse(START) + i * HOUR);
      const signal = new AbortController().signal;
      for await (const m of source.read('events', {
        checkpoint: undefined,
        limit: undefined,
        runId: 't',
        log: silentLogger,
        signal,
        hours,
        scratchDir: scratch,
      })) {
        if (m.type === 'raw') break; // the consumer stops in the middle of the first range
      }
      await source.close();
      // Ranges still being downloaded or checked when the read ended clean up as they finish.
      for (let i = 0; i < 50 && fs.readdirSync(scratch).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(fs.readdirSync(scratch)).toEqual([]);
    } finally {
      await sim.close();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
