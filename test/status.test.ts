import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmplitudeSim, startAmplitudeSim } from '../src/demo/amplitude-sim.js';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import { ampRun, ampWorkspace } from './support/amplitude.js';
import { type GithubWorkspace, githubWorkspace, output, sluice } from './support/github.js';
import { listFiles } from './support/workspace.js';

interface Status {
  streams: Array<{
    source: string;
    stream: string;
    rows_loaded: number;
    rejected: number;
    lines_in_storage: number;
    window?: { hours_expected: number; hours_in_storage: number; hours_loaded: number; gaps: Array<{ start: string; end: string; hours: number }> };
    reconciliation: {
      reconciled: boolean;
      per_batch_counts: boolean;
      unloaded_batches: string[];
      missing_from_storage: string[];
      line_mismatches: Array<{ batch: string; lines: number; rows: number; rejected: number }>;
    };
    freshness_seconds?: number;
    hours: Array<{ hour: string; loaded: boolean; in_storage: boolean }>;
  }>;
}

async function status(ws: Pick<GithubWorkspace, 'dir' | 'cfg'>): Promise<Status['streams'][number]> {
  const r = await sluice(ws, ['--json', 'status']);
  expect(r.code, output(r)).toBe(0);
  const doc = JSON.parse(r.stdout) as Status;
  expect(doc.streams).toHaveLength(1);
  return doc.streams[0] as Status['streams'][number];
}

const batchFiles = (lake: string, prefix: string) =>
  listFiles(lake)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.jsonl.gz'))
    .map((f) => path.join(lake, f));

describe('sluice status: reconciliation of storage against the ledger (cursor stream)', () => {
  let sim: GithubSim;
  let ws: GithubWorkspace;

  beforeAll(async () => {
    sim = await startGithubSim({ seed: 81, repos: ['duckdb/duckdb'], events: 120, spanHours: 8, malformed: true });
    ws = githubWorkspace('status', sim, ['duckdb/duckdb']);
    const r = await sluice(ws, ['run', 'github']);
    expect(r.code, output(r)).toBe(0);
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('an intact lake with rejects reconciles: lines in storage = rows loaded + rejects', async () => {
    const s = await status(ws);
    expect(s.rejected).toBeGreaterThan(0);
    expect(s.reconciliation).toMatchObject({ reconciled: true, unloaded_batches: [], missing_from_storage: [], line_mismatches: [] });
    expect(s.lines_in_storage).toBe(s.rows_loaded + s.rejected);
    expect(s.hours.some((h) => h.loaded && h.in_storage)).toBe(true);
    const text = await sluice(ws, ['status']);
    expect(text.stdout).toMatch(/reconciled/);
    expect(text.stdout).toMatch(/\d{4}-\d{2}-\d{2} +[ █]+/); // the hour-by-day grid
  });

  it('flags a batch with extra lines, a batch the ledger lacks and a loaded batch gone from storage', async () => {
    const files = batchFiles(ws.lake, 'github/events/').sort();
    expect(files.length).toBeGreaterThanOrEqual(3);
    const [grown, deleted] = files as [string, string];
    // Extra rows: a line appended to a loaded batch (its file is rewritten, so the ledger disagrees).
    const text = zlib.gunzipSync(fs.readFileSync(grown)).toString('utf8');
    fs.writeFileSync(grown, zlib.gzipSync(`${text}{"id":"planted-extra"}\n`));
    fs.rmSync(deleted);
    // A batch in storage that no load has seen: a copy of another batch in an hour of its own.
    const stray = path.join(ws.lake, 'github/events/dt=2020-01-01/hr=00/stray.jsonl.gz');
    fs.mkdirSync(path.dirname(stray), { recursive: true });
    fs.copyFileSync(files.at(-1) as string, stray);

    const s = await status(ws);
    const rel = (f: string) => path.relative(ws.lake, f).split(path.sep).join('/');
    expect(s.reconciliation.reconciled).toBe(false);
    expect(s.reconciliation.missing_from_storage).toEqual([rel(deleted)]);
    expect(s.reconciliation.unloaded_batches).toEqual([rel(stray)]);
    expect(s.reconciliation.per_batch_counts, 'the DuckDB warehouse must offer ledgerDetail (src/warehouse/duckdb/ledger-detail.ts) for per-batch counts').toBe(
      true,
    );
    expect(s.reconciliation.line_mismatches).toEqual([expect.objectContaining({ batch: rel(grown) })]);
    const m = s.reconciliation.line_mismatches[0];
    expect(m && m.lines - (m.rows + m.rejected)).toBe(1);
    const out = await sluice(ws, ['status']);
    expect(out.stdout).toMatch(/NOT RECONCILED/);
  });
});

describe('sluice status: window, gaps and freshness (window stream)', () => {
  let sim: AmplitudeSim;
  beforeAll(async () => {
    sim = await startAmplitudeSim({ seed: 82, meanEventsPerHour: 5 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('reports hours expected, in storage and loaded, and a deleted hour as a gap range', async () => {
    const ws = ampWorkspace('status-window', sim, { lookback_days: 1, lag_hours: 2 });
    const r = await ampRun(ws, ['run']);
    expect(r.code, output(r)).toBe(0);
    const before = await status(ws);
    expect(before.window?.hours_expected).toBeGreaterThan(20);
    expect(before.window?.hours_in_storage).toBe(before.window?.hours_expected);
    expect(before.window?.hours_loaded).toBe(before.window?.hours_expected);
    expect(before.window?.gaps).toEqual([]);
    expect(before.reconciliation.reconciled).toBe(true);
    expect(before.freshness_seconds).toBeGreaterThanOrEqual(0);

    const files = batchFiles(ws.lake, 'amplitude/events/').sort();
    const victims = files.slice(3, 5); // two consecutive hours
    for (const f of victims) fs.rmSync(f);
    const after = await status(ws);
    const hourOf = (f: string) => {
      const m = /dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})/.exec(f.split(path.sep).join('/'));
      return `${m?.[1]}T${m?.[2]}:00:00.000Z`;
    };
    expect(after.window?.gaps).toEqual([{ start: hourOf(victims[0] as string), end: hourOf(victims[1] as string), hours: 2 }]);
    expect(after.reconciliation.missing_from_storage).toHaveLength(2);
    expect(after.reconciliation.reconciled).toBe(false);
  });
});
