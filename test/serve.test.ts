import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import { type GithubWorkspace, githubWorkspace, output, sluice } from './support/github.js';
import { assertBuilt, BIN } from './support/workspace.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

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
}

describe('sluice serve', () => {
  let sim: GithubSim;
  let ws: GithubWorkspace;

  beforeAll(async () => {
    sim = await startGithubSim({ seed: 84, repos: ['duckdb/duckdb'], events: 40, spanHours: 3 });
    sim.setFaults({ latencyMs: 1200 }); // every run outlasts the one-second schedule, so ticks come while one is in flight
    ws = githubWorkspace('serve', sim, ['duckdb/duckdb'], { schedule: '* * * * * *' });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('runs on schedule, never two runs at once, serves /healthz and /metrics, and exits 0 on SIGTERM', async () => {
    assertBuilt();
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, '--config', ws.cfg, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
      cwd: ws.dir,
      env: { ...process.env, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    try {
      const runsDone = () => (out.match(/^run \S+ done/gm) ?? []).length;
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
      expect(res, out.slice(-3000)).toEqual({ code: 0, signal: null });
      expect(out).toMatch(/stopped \(SIGTERM\)/);
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
