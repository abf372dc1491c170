import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import type { Logger } from '../src/core/logger.js';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import { Project } from '../src/pipeline/project.js';
import { runPipeline } from '../src/pipeline/run.js';
import { runScheduled } from '../src/serve/scheduler.js';
import {
  type GithubWorkspace,
  githubFixture,
  githubWorkspace,
  landingLeftovers,
  output,
  removeDir,
  sluice,
  sorted,
  storedBatches,
  storedIds,
  warehouseState,
  writeGithubConfig,
} from './support/github.js';
import type { CliResult } from './support/workspace.js';

const REPOS = ['duckdb/duckdb', 'apache/spark'];
const floorHour = (ms: number) => Math.floor(ms / 3_600_000) * 3_600_000;

/**
 * Storage and the warehouse hold exactly the ids the simulator served, the warehouse once each.
 * Storage may hold an id twice only where a run re-read what a limited run had landed.
 */
async function expectExactlyServed(sim: GithubSim, ws: GithubWorkspace, o: { storageDuplicates?: boolean } = {}): Promise<void> {
  const expected = sim.expectedIds();
  const batches = storedBatches(ws.lake);
  const inStorage = storedIds(batches);
  expect(sorted(new Set(inStorage))).toEqual(sorted(expected));
  if (!o.storageDuplicates) expect(inStorage).toHaveLength(expected.length);
  const wh = await warehouseState(ws.warehouse);
  expect(wh.ids).toEqual(sorted(expected));
  expect(wh.rows).toBe(wh.distinct);
  expect(new Set(wh.loads.map((l) => l.batch_key)).size).toBe(wh.loads.length);
  expect(sorted(wh.loads.map((l) => l.batch_key))).toEqual(batches.map((b) => b.key));
  expect(landingLeftovers(ws.stateDir)).toEqual([]);
}

const runOk = async (ws: GithubWorkspace, args: string[] = ['run', 'github']): Promise<CliResult> => {
  const r = await sluice(ws, args);
  expect(r.code, output(r)).toBe(0);
  return r;
};

describe('sluice run github: first run, re-run, new and late events', () => {
  let sim: GithubSim;
  let ws: GithubWorkspace;
  beforeAll(async () => {
    sim = await startGithubSim({ seed: 3, repos: REPOS, events: { 'duckdb/duckdb': 250, 'apache/spark': 120 }, malformed: true });
    ws = githubWorkspace('gh-life', sim, REPOS);
  });
  afterAll(async () => {
    await sim?.close();
    if (ws) removeDir(ws.dir);
  });

  it('lands exactly the served events, each in the batch of its created_at hour, and rejects the malformed one', async () => {
    const r = await runOk(ws);
    expect(r.stdout).toMatch(/rejected 1 line/);
    await expectExactlyServed(sim, ws);

    const batches = storedBatches(ws.lake);
    const runId = /run (\S+) done/.exec(r.stdout)?.[1];
    expect(runId).toBeDefined();
    for (const b of batches) {
      expect(b.key.endsWith(`/${runId}.jsonl.gz`)).toBe(true);
      for (const line of b.lines) expect(floorHour(Date.parse((JSON.parse(line) as { created_at: string }).created_at))).toBe(b.hourMs);
    }
    const wh = await warehouseState(ws.warehouse);
    for (const id of sim.expectedIds()) expect(wh.data.get(id)).toEqual(sim.event(id));

    expect(wh.rejects).toHaveLength(1);
    const reject = wh.rejects[0]!;
    const batch = batches.find((b) => b.key === reject.batch_key);
    expect(batch, `reject names a stored batch: ${reject.batch_key}`).toBeDefined();
    expect(batch!.lines[reject.line_number - 1]).toBe(reject.line);
    expect(JSON.parse(reject.line)).not.toHaveProperty('id');
    expect(reject.reason).toMatch(/id/);
  });

  it('follows Link pages of 100 until the end of each feed', () => {
    for (const repo of REPOS) expect(sim.requests.find((q) => q.path === `/repos/${repo}/events`)?.query).toEqual({ per_page: '100' });
    const later = sim.requests.filter((q) => q.query.page !== undefined);
    expect(later.map((q) => q.query.page).sort()).toEqual(['2', '2', '3']); // 250 events → 3 pages, 120 → 2
    expect(later.every((q) => q.query.per_page === '100')).toBe(true);
  });

  it('a second run gets only 304s, fetches nothing and loads 0 rows', async () => {
    const before = sim.requests.length;
    const r = await runOk(ws);
    const requests = sim.requests.slice(before);
    for (const repo of REPOS) expect(requests.some((q) => q.path === `/repos/${repo}/events`)).toBe(true);
    expect(requests.map((q) => q.status)).toEqual(requests.map(() => 304));
    expect(requests.every((q) => q.ifNoneMatch !== undefined)).toBe(true);
    expect(r.stdout).toMatch(/nothing new fetched/);
    expect(r.stdout).toMatch(/loaded 0 rows/);
    await expectExactlyServed(sim, ws);
  });

  it('new events and late ones inside the 6 h lookback are caught without duplicates', async () => {
    const fresh = sim.advance(40);
    const late = sim.late(5);
    expect(late.length).toBeGreaterThan(0);
    await runOk(ws);
    await expectExactlyServed(sim, ws);
    const wh = await warehouseState(ws.warehouse);
    for (const id of [...fresh, ...late]) expect(wh.ids).toContain(id);
  });

  it('`sluice status` and `sluice runs` describe the stream and the history, as text and JSON', async () => {
    const status = await runOk(ws, ['status']);
    expect(status.stdout).toMatch(/github\/events/);
    expect(status.stdout).toMatch(/checkpoint github\/events: 2 feeds/);
    const sj = JSON.parse((await runOk(ws, ['--json', 'status'])).stdout) as { streams: Array<Record<string, unknown>> };
    expect(sj.streams).toHaveLength(1);
    expect(sj.streams[0]).toMatchObject({ source: 'github', stream: 'events', mode: 'cursor', batches_in_landing: 0, rows_loaded: sim.expectedIds().length });
    expect(sj.streams[0]?.last_run).toMatchObject({ command: 'run', status: 'ok' });

    const runs = await runOk(ws, ['runs']);
    expect(runs.stdout.trim().split('\n')).toHaveLength(4); // header + three runs
    const rj = JSON.parse((await runOk(ws, ['--json', 'runs'])).stdout) as { runs: Array<{ status: string; streams: Array<{ fetched: number }> }> };
    expect(rj.runs.map((x) => x.status)).toEqual(['ok', 'ok', 'ok']);
    expect(rj.runs[1]?.streams[0]?.fetched).toBe(0);
    // Where each run's time went: per step, and per load transaction.
    const first = (rj.runs[0]?.streams[0] as { timings?: Record<string, unknown> } | undefined)?.timings;
    expect(first).toMatchObject({ fetch_ms: expect.any(Number), sync_ms: expect.any(Number), load_ms: expect.any(Number), load_group_count: 1 });
    expect(first?.load_groups).toEqual([{ batches: expect.any(Number), bytes: expect.any(Number), rows: expect.any(Number), ms: expect.any(Number) }]);
  });
});

describe('sluice run github: the 300-event window', () => {
  it('warns about a possible gap, in stdout and in the run record, and still exits 0', async () => {
    const sim = await startGithubSim({ seed: 4, repos: REPOS, events: 100 });
    const ws = githubWorkspace('gh-gap', sim, REPOS);
    try {
      await runOk(ws);
      sim.advance({ 'duckdb/duckdb': 450, 'apache/spark': 10 });
      const r = await runOk(ws);
      expect(r.stdout).toMatch(/warning github\/events: repos\/duckdb\/duckdb: .*may be lost/);
      expect(r.stdout).not.toMatch(/warning .*apache\/spark/);
      const runs = JSON.parse((await runOk(ws, ['--json', 'runs'])).stdout) as { runs: Array<{ streams: Array<{ warnings: Array<{ code: string }> }> }> };
      expect(runs.runs.at(-1)?.streams[0]?.warnings.map((w) => w.code)).toEqual(['possible_gap']);
      await expectExactlyServed(sim, ws);
    } finally {
      await sim.close();
      removeDir(ws.dir);
    }
  });
});

describe('sluice run github: faults and rate limits', () => {
  it('retries 503, 502, 429 and connection resets under added latency, to the exact set of ids', async () => {
    const sim = await startGithubSim({ seed: 5, repos: REPOS, events: 150 });
    const ws = githubWorkspace('gh-faults', sim, REPOS);
    try {
      sim.setFaults({ p503: 0.1, p502: 0.05, p429: 0.05, pReset: 0.1, latencyMs: 5, force: [503, 'reset', 429, 502] });
      await runOk(ws);
      expect(sim.stats.faults).toBeGreaterThanOrEqual(4);
      for (const s of [503, 502, 429, 'reset']) expect(sim.stats.byStatus[s], `status ${s} injected`).toBeGreaterThan(0);
      await expectExactlyServed(sim, ws);
    } finally {
      await sim.close();
      removeDir(ws.dir);
    }
  });

  it('waits out a secondary rate limit and an exhausted primary limit', async () => {
    const sim = await startGithubSim({ seed: 6, repos: REPOS, events: 60 });
    const ws = githubWorkspace('gh-limits', sim, REPOS);
    try {
      sim.setFaults({ force: ['secondary'] });
      await runOk(ws);
      expect(sim.stats.byStatus[403]).toBe(1);
      await expectExactlyServed(sim, ws);

      sim.advance(20);
      sim.setFaults({ exhaustMs: 1500 });
      await runOk(ws);
      expect(sim.stats.byStatus[403]).toBeGreaterThan(1);
      await expectExactlyServed(sim, ws);
    } finally {
      await sim.close();
      removeDir(ws.dir);
    }
  });
});

describe('sluice run github: tokens', () => {
  const TOKEN = 'ghp_SimGood7Qk2Lw9Rt4Zp';
  const BAD = 'ghp_SimWrong3Hv8Nc1Bm6';

  it('a rejected token exits 2 at once naming `token`; no token leaks into output or files', async () => {
    const sim = await startGithubSim({ seed: 7, repos: REPOS, events: 40, token: TOKEN });
    const ws = githubWorkspace('gh-token', sim, REPOS, { token: TOKEN });
    const badCfg = writeGithubConfig(ws, sim, REPOS, { token: BAD }, 'bad-token.yaml');
    try {
      const outputs: CliResult[] = [await runOk(ws)];
      expect(sim.requests.every((q) => q.auth === 'ok')).toBe(true);
      await expectExactlyServed(sim, ws);

      const before = sim.requests.length;
      const bad = await sluice({ dir: ws.dir, cfg: badCfg }, ['run', 'github']);
      outputs.push(bad, await runOk(ws, ['runs']), await runOk(ws, ['--json', 'runs']), await runOk(ws, ['status']));
      expect(bad.code, output(bad)).toBe(2);
      expect(bad.stdout + bad.stderr).toMatch(/sources\[0\]\.token/);
      const withBad = sim.requests.slice(before).filter((q) => q.auth === 'bad');
      expect(withBad.length).toBeGreaterThan(0);
      for (const repo of REPOS) expect(withBad.filter((q) => q.path === `/repos/${repo}/events`).length).toBeLessThanOrEqual(1);
      expect(withBad.every((q) => q.path.startsWith('/repos/'))).toBe(true);

      for (const r of outputs) for (const t of [TOKEN, BAD]) expect(r.stdout + r.stderr).not.toContain(t);
      const leaks = (fs.readdirSync(ws.dir, { recursive: true }) as string[])
        .filter((rel) => fs.statSync(path.join(ws.dir, rel)).isFile() && !['sluice.yaml', 'bad-token.yaml'].includes(rel))
        .filter((rel) => {
          const bytes = fs.readFileSync(path.join(ws.dir, rel));
          return bytes.includes(TOKEN) || bytes.includes(BAD);
        });
      expect(leaks).toEqual([]);
    } finally {
      await sim.close();
      removeDir(ws.dir);
    }
  });
});

describe('sluice run github --limit', () => {
  it('lands at most N records and leaves the checkpoint where it was; a full run then gets everything', async () => {
    const sim = await startGithubSim({ seed: 8, repos: REPOS, events: 80 });
    const ws = githubWorkspace('gh-limit', sim, REPOS);
    const checkpoint = path.join(ws.lake, '_state', 'github', 'events.json');
    const feeds = () => (fs.existsSync(checkpoint) ? Object.keys((JSON.parse(fs.readFileSync(checkpoint, 'utf8')) as { feeds: object }).feeds) : []);
    try {
      const r = await runOk(ws, ['run', 'github', '--limit', '5']);
      expect(r.stdout).toMatch(/limited run/);
      const limited = storedIds(storedBatches(ws.lake));
      expect(limited.length).toBeGreaterThan(0);
      expect(limited.length).toBeLessThanOrEqual(5);
      expect((await warehouseState(ws.warehouse)).rows).toBe(limited.length);
      expect(feeds()).toEqual([]);

      await runOk(ws);
      await expectExactlyServed(sim, ws, { storageDuplicates: true });
      const saved = fs.readFileSync(checkpoint);

      const rowsBefore = (await warehouseState(ws.warehouse)).rows;
      expect(sim.advance(20)).toHaveLength(40);
      await runOk(ws, ['run', 'github', '--limit', '5']);
      expect(fs.readFileSync(checkpoint)).toEqual(saved);
      const added = (await warehouseState(ws.warehouse)).rows - rowsBefore;
      expect(added).toBeGreaterThan(0);
      expect(added).toBeLessThanOrEqual(5);

      await runOk(ws);
      await expectExactlyServed(sim, ws, { storageDuplicates: true });
    } finally {
      await sim.close();
      removeDir(ws.dir);
    }
  });
});

describe('sluice run github on the real recorded page', () => {
  it('lands the 100 events of the fixture exactly as recorded', async () => {
    const file = githubFixture('repos-duckdb-duckdb-events-page1.json');
    const recorded = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ id: string }>;
    const sim = await startGithubSim({ repos: ['duckdb/duckdb'], fixturePage: file });
    const ws = githubWorkspace('gh-fixture', sim, ['duckdb/duckdb']);
    try {
      await runOk(ws);
      expect(sim.expectedIds()).toHaveLength(100);
      await expectExactlyServed(sim, ws);
      const wh = await warehouseState(ws.warehouse);
      expect(wh.ids).toEqual(sorted(recorded.map((e) => e.id)));
      for (const ev of recorded) expect(wh.data.get(ev.id)).toEqual(ev);
      expect(wh.rejects).toEqual([]);
    } finally {
      await sim.close();
      removeDir(ws.dir);
    }
  });
});

describe("GitHub's X-Poll-Interval", () => {
  it('a scheduled run does not poll a feed again before the interval has passed, and polls it after; a command polls at once', async () => {
    const sim = await startGithubSim({ seed: 11, repos: REPOS, events: 30, pollInterval: 60 });
    const ws = githubWorkspace('gh-poll', sim, REPOS);
    const said: Array<{ event: string; fields: Record<string, unknown> }> = [];
    const note = (fields: Record<string, unknown>, event: string) => said.push({ event, fields });
    const log: Logger = { debug: () => {}, info: note, warn: note, error: note, child: () => log };
    const project = new Project(loadConfig({ file: ws.cfg }), log);
    const scheduled = project.forSchedule();
    const source = { name: 'github', schedule: '* * * * *', transform: false };
    const feedRequests = (from: number) => REPOS.map((repo) => sim.requests.slice(from).filter((q) => q.path === `/repos/${repo}/events`).length);
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      let before = sim.requests.length;
      expect((await runScheduled(scheduled, source)).exit_code).toBe(0);
      expect(feedRequests(before).every((n) => n > 0)).toBe(true);
      await expectExactlyServed(sim, ws);

      // Within the minute GitHub asked for: no request at all, so the new events wait.
      const fresh = sim.advance(5);
      before = sim.requests.length;
      const waited = await runScheduled(scheduled, source);
      expect(waited.exit_code).toBe(0);
      expect(feedRequests(before)).toEqual([0, 0]);
      expect(waited.streams[0]).toMatchObject({ fetched: 0, unchanged: true });
      // …and the run says why it fetched nothing, once, at info level.
      const waits = said.filter((x) => x.event === 'github.feeds.poll_later');
      expect(waits).toHaveLength(1);
      expect(waits[0]?.fields).toMatchObject({ feeds: 2, poll_interval_s: 60 });
      expect(Date.parse(String(waits[0]?.fields.next_poll_at))).toBeGreaterThan(Date.now());

      // Once the interval has passed, the next scheduled run polls and gets them.
      vi.setSystemTime(Date.now() + 61_000);
      before = sim.requests.length;
      const polled = await runScheduled(scheduled, source);
      expect(feedRequests(before).every((n) => n > 0)).toBe(true);
      expect(polled.streams[0]?.fetched).toBe(fresh.length);
      expect(said.filter((x) => x.event === 'github.feeds.poll_later')).toHaveLength(1);
      await expectExactlyServed(sim, ws);

      // A user's explicit command is not held back by the interval.
      before = sim.requests.length;
      const asked = await runPipeline(project, { command: 'run', steps: ['fetch', 'sync', 'load'] });
      expect(asked.exit_code).toBe(0);
      expect(sim.requests.slice(before).map((q) => q.status)).toEqual([304, 304]);
    } finally {
      vi.useRealTimers();
      await project.close();
      await sim.close();
      removeDir(ws.dir);
    }
  });
});
