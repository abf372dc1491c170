import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import { Project } from '../src/pipeline/project.js';
import { runScheduled, scheduledSources } from '../src/serve/scheduler.js';
import { type GithubWorkspace, githubWorkspace, output, removeDir, sluice } from './support/github.js';
import { freePort, startServe } from './support/serve.js';
import { assertBuilt, queryDuck, ROOT } from './support/workspace.js';

const until = async (what: string, ok: () => boolean | Promise<boolean>, tries = 600) => {
  for (let i = 0; i < tries; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
};

interface Run {
  started_at: string;
  finished_at: string;
  command: string;
  status: string;
  transform?: { models: Array<{ model: string; status: string }> };
}

const BUNDLED_GITHUB_MODELS = path.join(ROOT, 'src', 'transform', 'bundled', 'github');
const MODEL_NAMES = (fs.readdirSync(BUNDLED_GITHUB_MODELS, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.sql'))
  .map((f) => path.basename(f, '.sql'))
  .sort();

/** Descriptors a process holds on a file or its companions (DuckDB's `.wal`), from /proc. */
const descriptorsOn = (pid: number | 'self', file: string): string[] =>
  fs
    .readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ''; // closed while listed
      }
    })
    .filter((target) => target.startsWith(file));

/** `sluice serve` as a child process, with its output collected. */
describe('sluice serve', () => {
  let sim: GithubSim;
  let ws: GithubWorkspace;

  beforeAll(async () => {
    // GitHub lets a feed be polled every second here, so every tick's run asks the API.
    sim = await startGithubSim({ seed: 84, repos: ['duckdb/duckdb'], events: 40, spanHours: 3, pollInterval: 1 });
    sim.setFaults({ latencyMs: 1200 }); // every run outlasts the one-second schedule, so ticks come while one is in flight
    ws = githubWorkspace('serve', sim, ['duckdb/duckdb'], { schedule: '* * * * * *' });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('runs on schedule, never two runs at once, serves /healthz and /metrics, and exits 0 on SIGTERM', async () => {
    assertBuilt();
    const port = await freePort();
    const { child, out: outNow, exited } = startServe(ws, port);
    try {
      const runsDone = () => (outNow().match(/^run \S+ done/gm) ?? []).length;
      await until('three scheduled runs', () => runsDone() >= 3);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^sluice_runs_total\{source="github",status="ok"\} [1-9]/m);
      expect(metrics).toMatch(/^sluice_rows_loaded_total\{source="github",stream="events"\} 40$/m);
      expect(metrics).toMatch(/^sluice_last_success_timestamp_seconds\{source="github"\} \d/m);
      expect(metrics).toMatch(/^sluice_ticks_skipped_total\{source="github"\} [1-9]/m); // the schedule outpaces the runs

      // SIGTERM while a run is in flight: it finishes, then the process exits 0.
      await until(
        'a run in flight',
        async () => /sluice_run_in_progress\{source="github"\} 1/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
        100,
      );
      child.kill('SIGTERM');
      const res = await exited;
      expect(res, outNow().slice(-3000)).toEqual({ code: 0, signal: null });
      expect(outNow()).toMatch(/stopped \(SIGTERM\)/);
    } finally {
      child.kill('SIGKILL');
    }

    const r = await sluice(ws, ['--json', 'runs', '--last', '1000']);
    expect(r.code, output(r)).toBe(0);
    const runs = (JSON.parse(r.stdout) as { runs: Run[] }).runs.filter((x) => x.command === 'serve');
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.every((x) => x.status === 'ok')).toBe(true);
    const spans = runs.map((x) => [Date.parse(x.started_at), Date.parse(x.finished_at)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] as number);
  });

  it('refuses to start when no source has a schedule, and names the fix (exit 2)', async () => {
    const plain = githubWorkspace('serve-none', sim, ['duckdb/duckdb']);
    const r = await sluice(plain, ['serve']);
    expect(r.code, output(r)).toBe(2);
    expect(r.stderr).toMatch(/no source has a schedule/);
  });
});

describe('sluice serve between runs', () => {
  it('builds the models after a scheduled load, then holds nothing on the DuckDB file: status and transform work from another process', async () => {
    assertBuilt();
    const sim = await startGithubSim({ seed: 86, repos: ['duckdb/duckdb', 'apache/spark'], events: 30, spanHours: 3, pollInterval: 1 });
    // One tick a minute, a few seconds from now: the long idle after it is where the other process works.
    // A start slower than that (a busy machine) only moves the tick a minute on: the test allows it.
    const second = (new Date().getUTCSeconds() + 8) % 60;
    const ws = githubWorkspace('serve-idle', sim, ['duckdb/duckdb', 'apache/spark'], { schedule: `${second} * * * * *` });
    fs.cpSync(BUNDLED_GITHUB_MODELS, path.join(ws.dir, 'models'), { recursive: true });
    const serve = startServe(ws, await freePort());
    try {
      await until('the scheduled run', () => /^run \S+ done/m.test(serve.out()), 1200);
      expect(descriptorsOn(serve.child.pid as number, ws.warehouse)).toEqual([]);

      const status = await sluice(ws, ['status']);
      expect(status.code, output(status)).toBe(0);
      const transform = await sluice(ws, ['transform']);
      expect(transform.code, output(transform)).toBe(0);
      expect(serve.out().match(/^run \S+ done/gm)).toHaveLength(1); // both ran while serve idled
      expect(serve.out()).toMatch(new RegExp(`^transform: ${MODEL_NAMES.length} models built; [1-9]\\d* tests passed$`, 'm'));

      serve.child.kill('SIGTERM');
      expect(await serve.exited, serve.out().slice(-3000)).toEqual({ code: 0, signal: null });
    } finally {
      serve.child.kill('SIGKILL');
      await sim.close();
    }
    const runs = (JSON.parse((await sluice(ws, ['--json', 'runs'])).stdout) as { runs: Run[] }).runs;
    const scheduled = runs.find((x) => x.command === 'serve');
    expect(
      scheduled?.transform?.models
        .filter((m) => m.status === 'built')
        .map((m) => m.model)
        .sort(),
    ).toEqual(MODEL_NAMES);
    const staged = await queryDuck<{ n: string }>(ws.warehouse, 'SELECT count(*)::VARCHAR AS n FROM analytics.stg_github__events');
    expect(Number(staged[0]?.n)).toBe(sim.expectedIds().length);
    removeDir(ws.dir);
  }, 150_000);

  it('with the dashboard on: once the metrics say the run is over, and after each page or status answer, serve holds nothing on the DuckDB file', async () => {
    assertBuilt();
    const sim = await startGithubSim({ seed: 89, repos: ['duckdb/duckdb'], events: 25, spanHours: 2, pollInterval: 1 });
    const second = (new Date().getUTCSeconds() + 8) % 60; // as above: a late start waits a minute more
    const ws = githubWorkspace('serve-dashboard-idle', sim, ['duckdb/duckdb'], { schedule: `${second} * * * * *` });
    const port = await freePort();
    const serve = startServe(ws, port);
    const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.text() ?? '';
    try {
      await until('a run counted on /metrics', async () => /^sluice_runs_total\{source="github",status="ok"\} 1$/m.test(await metrics()), 1200);
      expect(await metrics()).toMatch(/^sluice_run_in_progress\{source="github"\} 0$/m);
      expect(descriptorsOn(serve.child.pid as number, ws.warehouse)).toEqual([]);
      for (const p of ['/', '/api/status', '/']) {
        const res = await fetch(`http://127.0.0.1:${port}${p}`);
        expect(res.status).toBe(200);
        expect(await res.text()).toMatch(/github\/events|"source": "github"/);
        expect(descriptorsOn(serve.child.pid as number, ws.warehouse)).toEqual([]);
      }
      const doc = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { streams: Array<{ rows_loaded: number }> };
      expect(doc.streams[0]?.rows_loaded).toBe(25);
    } finally {
      serve.child.kill('SIGKILL');
      await sim.close();
      removeDir(ws.dir);
    }
  }, 150_000);

  it('`schedule_transform: false` loads without building the models, and the run closes the warehouse', async () => {
    const sim = await startGithubSim({ seed: 87, repos: ['duckdb/duckdb'], events: 20, spanHours: 2, pollInterval: 1 });
    const ws = githubWorkspace('serve-no-transform', sim, ['duckdb/duckdb'], { schedule: '0 * * * *', schedule_transform: false });
    fs.cpSync(BUNDLED_GITHUB_MODELS, path.join(ws.dir, 'models'), { recursive: true });
    const project = new Project(loadConfig({ file: ws.cfg }), silentLogger);
    try {
      const [source] = scheduledSources(project);
      expect(source).toMatchObject({ name: 'github', transform: false });
      const record = await runScheduled(project.forSchedule(), source!);
      expect(record.exit_code).toBe(0);
      expect(record.streams[0]?.loaded_rows).toBe(20);
      expect(record.transform).toBeUndefined();
      expect(descriptorsOn('self', ws.warehouse)).toEqual([]);
    } finally {
      await project.close();
      await sim.close();
      removeDir(ws.dir);
    }
  });

  it('rejects a `schedule_transform` that is not true or false, naming the key', async () => {
    const sim = await startGithubSim({ seed: 88, repos: ['duckdb/duckdb'], events: 1 });
    const ws = githubWorkspace('serve-bad-flag', sim, ['duckdb/duckdb'], { schedule: '0 * * * *', schedule_transform: 'no' });
    try {
      const r = await sluice(ws, ['serve']);
      expect(r.code, output(r)).toBe(2);
      expect(r.stderr).toMatch(/sources\[0\]\.schedule_transform/);
    } finally {
      await sim.close();
      removeDir(ws.dir);
    }
  });
});
