import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import type { RunRecord } from '../src/pipeline/run-record.js';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';
import { assertBuilt, BIN, type CliResult, listFiles, runCli, tempDir, writeConfig } from './support/workspace.js';

/**
 * `sluice load` into PostgreSQL from outside, as a user runs it: the GitHub simulator as the API,
 * local storage, a real server. Every batch must end up loaded exactly once whatever happens to
 * the loading process or the server.
 */
const REPOS = Array.from({ length: 100 }, (_, i) => `org${i % 7}/repo${i}`);
let server: PgServer | undefined;
let sim: GithubSim | undefined;
let root: string;
let lake: string;
let batchKeys: string[];
let expected: string[];

const pgs = () => server as PgServer;
const output = (r: CliResult) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n${r.stdout}\n${r.stderr}`.slice(-3000);

/** A workspace of its own (state dir, config, database) over the shared lake. */
async function workspace(name: string, url?: string): Promise<{ dir: string; db: string; url: string }> {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const db = `load_${name.replace(/-/g, '_')}`;
  const dbUrl = url ?? (await pgs().database(db));
  writeConfig(dir, {
    state_dir: './state',
    storage: { type: 'local', path: lake },
    warehouse: { type: 'postgres', url: dbUrl },
    sources: [{ name: 'github', type: 'github', base_url: (sim as GithubSim).url, repos: REPOS, retry_base_ms: 20 }],
  });
  return { dir, db, url: dbUrl };
}

const query = <T>(db: string, sql: string) => pgs().query<T>(sql, [], db);
const ledgerCount = async (db: string) => (await query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM sluice._loads').catch(() => [{ n: 0 }]))[0]?.n ?? 0;

/** What the database holds: sorted ids, row count, ledger keys. */
async function contents(db: string) {
  const ids = (await query<{ id: string }>(db, 'SELECT id FROM raw.github_events ORDER BY id')).map((r) => r.id);
  const ledger = (await query<{ batch_key: string }>(db, 'SELECT batch_key FROM sluice._loads ORDER BY batch_key')).map((r) => r.batch_key);
  return { ids, ledger };
}

async function expectExact(db: string): Promise<void> {
  const { ids, ledger } = await contents(db);
  expect(ids).toEqual(expected);
  expect(ledger).toEqual(batchKeys);
  // A load's stage is a plain table, created and dropped in its transaction: a killed load leaves none.
  const stages = await query<{ n: number }>(db, "SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE '\\_sluice\\_stage%'");
  expect(stages[0]?.n).toBe(0);
}

/** Starts `sluice load github` and returns the process, so a test can kill it when it chooses. */
function startLoad(dir: string): { child: ChildProcess; done: Promise<CliResult> } {
  assertBuilt();
  const child = spawn(process.execPath, [BIN, '--json', 'load', 'github'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', SLUICE_LOG_LEVEL: 'warn' } });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, killed: signal === 'SIGKILL' }));
  });
  return { child, done };
}

/** Resolves once this load has committed a group (the ledger grew), or with false when it ended first. */
async function committedSomething(db: string, before: number, running: { exited: boolean }): Promise<boolean> {
  while (!running.exited) {
    if ((await ledgerCount(db)) > before) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

beforeAll(async () => {
  server = await startPostgres();
  sim = await startGithubSim({ seed: 41, repos: REPOS, events: 250, spanHours: 24 * 30 });
  root = tempDir('pg-load');
  lake = path.join(root, 'lake');
  // The lake every test loads from: fetched once from the simulator and synced to local storage.
  const first = await workspace('first');
  const r = await runCli(['run', 'github'], { cwd: first.dir });
  if (r.code !== 0) throw new Error(`the first run failed: ${output(r)}`);
  batchKeys = listFiles(lake)
    .filter((p) => /^github\/events\/dt=.*\.jsonl\.gz$/.test(p))
    .sort();
  expected = [...sim.expectedIds()].sort();
}, 180_000);

afterAll(async () => {
  await sim?.close();
  stopPostgres(server);
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe.skipIf(lacks('postgresql'))('sluice load into PostgreSQL', () => {
  it('run github lands every event once, data as jsonb, one ledger row per batch', async () => {
    expect(batchKeys.length).toBeGreaterThan(3 * 64); // several load transactions
    await expectExact('load_first');
    const [type] = await query<{ t: string }>(
      'load_first',
      "SELECT data_type AS t FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'github_events' AND column_name = 'data'",
    );
    expect(type?.t).toBe('jsonb');
  });

  it('two loads started together (two machines, one lake) load each batch exactly once', { timeout: 120_000 }, async () => {
    const a = await workspace('concurrent-a');
    const b = await workspace('concurrent-b', a.url);
    const [x, y] = await Promise.all([startLoad(a.dir).done, startLoad(b.dir).done]);
    expect(x.code, output(x)).toBe(0);
    expect(y.code, output(y)).toBe(0);
    const loaded = [x, y].map((r) => (JSON.parse(r.stdout) as RunRecord).streams[0]?.loaded_batches ?? 0);
    expect(loaded[0]! + loaded[1]!).toBe(batchKeys.length);
    await expectExact(a.db);
  });

  it('kill -9 in the middle of loads, then a clean load: the exact row set, each batch ledgered once', { timeout: 180_000 }, async () => {
    const w = await workspace('killed');
    let killedMidway = 0;
    for (let round = 0; round < 3; round++) {
      const before = await ledgerCount(w.db);
      const load = startLoad(w.dir);
      const running = { exited: false };
      void load.done.then(() => {
        running.exited = true;
      });
      // The first round is killed before anything commits, the next ones after a commit, mid-way.
      if (round === 0 ? await copyingFirstGroup(w.db, running) : await committedSomething(w.db, before, running)) {
        load.child.kill('SIGKILL');
        killedMidway++;
      }
      const r = await load.done;
      if (!r.killed) expect(r.code, output(r)).toBe(0);
    }
    expect(killedMidway).toBeGreaterThan(0);
    const clean = await startLoad(w.dir).done;
    expect(clean.code, output(clean)).toBe(0);
    await expectExact(w.db);
  });

  it('PostgreSQL restarted in the middle of a load: that load never claims rows it lacks, the next one is exact', { timeout: 180_000 }, async () => {
    const w = await workspace('restarted');
    const load = startLoad(w.dir);
    const running = { exited: false };
    void load.done.then(() => {
      running.exited = true;
    });
    const restarted = await committedSomething(w.db, 0, running);
    if (restarted) pgs().restart('immediate');
    const r = await load.done;
    expect(restarted, 'the load ended before the restart').toBe(true);
    if (r.code === 0) await expectExact(w.db);
    const next = await startLoad(w.dir).done;
    expect(next.code, output(next)).toBe(0);
    await expectExact(w.db);
  });

  it('a wrong password: exit 2 with a hint, and the password appears in no output', async () => {
    const wrongUrl = pgs().url('load_first', 'wrong-pw-31337');
    const w = await workspace('bad-password', wrongUrl);
    const r = await runCli(['load', 'github'], { cwd: w.dir });
    expect(r.code, output(r)).toBe(2);
    expect(r.stdout).toMatch(/refused the credentials/);
    expect(r.stdout).toMatch(/password in warehouse\.url/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('wrong-pw-31337');
    const json = await runCli(['--json', 'load', 'github'], { cwd: w.dir });
    expect(json.code).toBe(2);
    expect(`${json.stdout}${json.stderr}`).not.toContain('wrong-pw-31337');
    for (const f of listFiles(path.join(w.dir, 'state'))) expect(fs.readFileSync(path.join(w.dir, 'state', f), 'utf8')).not.toContain('wrong-pw-31337');
  });
});

/** True once the load is copying its first group (a COPY is running on the server), false if it ended first. */
async function copyingFirstGroup(db: string, running: { exited: boolean }): Promise<boolean> {
  while (!running.exited) {
    const copying = await query<{ n: number }>(
      db,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'sluice' AND query LIKE 'COPY%'",
    ).catch(() => [{ n: 0 }]);
    if ((copying[0]?.n ?? 0) > 0) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}
