import { describe, expect, it } from 'vitest';
import { startGithubSim } from '../src/demo/github-sim.js';
import { githubWorkspace, landingLeftovers, output, removeDir, sluice, sorted, storedBatches, storedIds, warehouseState } from './support/github.js';
import { runCliKilledAfterLog } from './support/kill.js';
import { queryDuck } from './support/workspace.js';

const REPOS = [
  'duckdb/duckdb',
  'apache/spark',
  'delta-io/delta',
  'apache/arrow',
  'pola-rs/polars',
  'dlt-hub/dlt',
  'apache/iceberg',
  'trinodb/trino',
  'apache/flink',
  'dbt-labs/dbt-core',
  'apache/airflow',
  'ClickHouse/ClickHouse',
];
const SIM = { seed: 11, repos: REPOS, events: 250 };
const LATENCY = { latencyMs: 40 }; // every request is slow enough for kills to land mid-fetch
const KILLS = 10;

/** A small deterministic sequence for where to kill and which repos get new events. */
function sequence(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1_664_525) + 1_013_904_223) >>> 0;
    return a / 2 ** 32;
  };
}

/** The log events of a run (JSON lines on stderr), with their time. */
function logEvents(stderr: string): Array<{ ms: number; event: string }> {
  const out: Array<{ ms: number; event: string }> = [];
  for (const line of stderr.split('\n')) {
    try {
      const j = JSON.parse(line) as { time?: string; event?: string };
      if (j.time && j.event) out.push({ ms: Date.parse(j.time), event: j.event });
    } catch {
      /* not a log line */
    }
  }
  return out;
}

describe('sluice run github killed with SIGKILL', () => {
  it('loses nothing and duplicates nothing once an uninterrupted run follows', async () => {
    // How long the work of an uninterrupted first run lasts, on a copy of the same scenario.
    const copy = await startGithubSim(SIM);
    copy.setFaults(LATENCY);
    const calWs = githubWorkspace('crash-cal', copy, REPOS);
    const cal = await sluice(calWs, ['run', 'github']);
    const calEnd = Date.now();
    await copy.close();
    removeDir(calWs.dir);
    expect(cal.code, output(cal)).toBe(0);
    const started = logEvents(cal.stderr).find((e) => e.event === 'run.started');
    expect(started, 'the run logs run.started').toBeDefined();

    const sim = await startGithubSim(SIM);
    sim.setFaults(LATENCY);
    const ws = githubWorkspace('crash', sim, REPOS);
    const next = sequence(7);
    const history: string[] = [];
    const phases = new Set<string>();
    try {
      let kills = 0;
      let workMs = Math.max(200, calEnd - started!.ms); // shrinks when runs finish first: later runs have less to do
      for (let i = 0; kills < KILLS && i < KILLS * 3; i++) {
        if (i > 0 && next() < 0.6) sim.advance(Object.fromEntries(REPOS.filter(() => next() < 0.5).map((r) => [r, 1 + Math.floor(next() * 12)])));
        const delayMs = Math.round(((kills + next()) / KILLS) * workMs);
        const r = await runCliKilledAfterLog(['--config', ws.cfg, 'run', 'github'], { cwd: ws.dir, event: 'run.started', delayMs });
        if (r.killed) {
          kills++;
          const phase = logEvents(r.stderr).at(-1)?.event ?? 'none';
          phases.add(phase);
          history.push(`killed ${delayMs} ms into the run, after ${phase}`);
        } else {
          history.push(`finished within ${delayMs} ms`);
          expect(r.code, `a run after a crash: ${output(r)}`).toBe(0);
          const began = logEvents(r.stderr).find((e) => e.event === 'run.started')?.ms ?? Date.now() - workMs;
          workMs = Math.max(Date.now() - began, workMs * 0.7);
        }
      }
      expect(kills, history.join('; ')).toBe(KILLS);
      expect(phases.size, `kills should land at different points of a run: ${history.join('; ')}`).toBeGreaterThanOrEqual(2);

      const final = await sluice(ws, ['run', 'github']);
      expect(final.code, output(final)).toBe(0);

      const expected = sorted(sim.expectedIds());
      const wh = await warehouseState(ws.warehouse);
      expect(wh.ids).toEqual(expected);
      expect(wh.rows).toBe(wh.distinct);
      const [ledger] = await queryDuck<{ n: string; keys: string }>(ws.warehouse, 'SELECT count(*) AS n, count(DISTINCT batch_key) AS keys FROM sluice._loads');
      expect(ledger?.n).toBe(ledger?.keys);

      const batches = storedBatches(ws.lake); // throws on a temp file or a broken gzip
      expect(sorted(new Set(storedIds(batches)))).toEqual(expected);
      expect(sorted(wh.loads.map((l) => l.batch_key))).toEqual(batches.map((b) => b.key));
      expect(landingLeftovers(ws.stateDir)).toEqual([]);
    } finally {
      await sim.close();
      removeDir(ws.dir);
    }
  }, 150_000);
});
