// Benchmark: 200,000 GitHub-shaped events in hourly batches, `sluice load` into PostgreSQL, three
// rounds, each against two floors: `psql \copy` of the same lines into a plain jsonb table (target
// <= 1.7x), and psql doing COPY into a temp table + INSERT … ON CONFLICT on the key (a merge's own
// floor). A round runs the three commands three times each, interleaved, and compares medians.
// Prints rows/s, peak RSS, the ratios and every pass's time. Uses a throwaway cluster of Debian's
// postgresql (or SLUICE_BENCH_PG_URL). Run alone: node bench/postgres-load.mjs [rows]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeData } from './support/github-events.mjs';
import { median, timed } from './support/measure.mjs';
import { query, quiesce, startServer } from './support/postgres.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const ROUNDS = 3;
/**
 * Each round times every command this many times, interleaved, and compares their medians: on a
 * shared machine a single pair's ratio moves by half when a slow moment hits one side only.
 */
const PASSES = 3;

export async function main(total = 200_000) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-pg-'));
  let server;
  try {
    const data = writeData(dir, total);
    server = process.env.SLUICE_BENCH_PG_URL ? undefined : await startServer(dir);
    const url = process.env.SLUICE_BENCH_PG_URL ?? server.url;
    const psql = server?.psql ?? 'psql';
    const db = (name) => url.replace(/\/[^/]*$/, `/${name}`);
    const copyInto = (table) => `\\copy ${table} from '${data.plain}' with (format csv, quote e'\\x01', delimiter e'\\x02')`;
    const runPsql = (name, commands) => timed(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db(name), ...commands.flatMap((c) => ['-c', c])]);
    const steps = {
      // sluice itself, from a fresh state directory into a fresh database.
      async load() {
        fs.writeFileSync(
          path.join(dir, 'sluice.yaml'),
          JSON.stringify({
            state_dir: './state',
            storage: { type: 'local', path: data.lake },
            warehouse: { type: 'postgres', url: db('bench_sluice') },
            sources: [{ name: 'github', type: 'github', repos: ['bench/bench'] }],
          }),
        );
        fs.rmSync(path.join(dir, 'state'), { recursive: true, force: true });
        await quiesce(url);
        const run = await timed(process.execPath, [path.join(ROOT, 'bin/sluice.js'), 'load', 'github'], {
          cwd: dir,
          env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' },
        });
        const [loaded] = await query(db('bench_sluice'), 'SELECT count(*)::int AS n FROM raw.github_events');
        return { ...run, rows: loaded.n };
      },
      // Floor 1: psql streaming the same lines into a plain jsonb table (no key, no merge, no ledger).
      async copy() {
        await query(db('bench_copy'), 'CREATE TABLE floor (data jsonb)');
        await quiesce(url);
        const run = await runPsql('bench_copy', [copyInto('floor(data)')]);
        const [copied] = await query(db('bench_copy'), 'SELECT count(*)::int AS n FROM floor');
        return { ...run, rows: copied.n };
      },
      // Floor 2, the real floor of a merge: COPY into a temp table, then one INSERT … ON CONFLICT
      // on the key into a keyed table, as a merge must.
      async merge() {
        await query(db('bench_merge'), 'CREATE TABLE floor (id text PRIMARY KEY, data jsonb)');
        await quiesce(url);
        const run = await runPsql('bench_merge', [
          'BEGIN; CREATE TEMP TABLE stage (data jsonb) ON COMMIT DROP',
          copyInto('stage(data)'),
          `INSERT INTO floor SELECT data->>'id', data FROM stage ON CONFLICT (id) DO UPDATE SET data = excluded.data; COMMIT`,
        ]);
        const [merged] = await query(db('bench_merge'), 'SELECT count(*)::int AS n FROM floor');
        return { ...run, rows: merged.n };
      },
    };
    const seconds = (runs) => runs.map((r) => (r.ms / 1000).toFixed(2)).join(', ');
    for (let round = 1; round <= ROUNDS; round++) {
      const runs = { load: [], copy: [], merge: [] };
      for (let pass = 0; pass < PASSES; pass++) {
        for (const name of ['bench_sluice', 'bench_copy', 'bench_merge']) {
          await query(url, `DROP DATABASE IF EXISTS ${name}`);
          await query(url, `CREATE DATABASE ${name}`);
        }
        // Each pass starts with another of the three, so that none always follows the same one.
        const order = ['load', 'copy', 'merge'].map((_, i, all) => all[(i + pass) % all.length]);
        for (const step of order) {
          const run = await steps[step]();
          if (run.rows !== total) throw new Error(`expected ${total} rows, ${step} has ${run.rows}`);
          runs[step].push(run);
        }
      }
      const load = median(runs.load, (r) => r.ms);
      const copy = median(runs.copy, (r) => r.ms);
      const merge = median(runs.merge, (r) => r.ms);
      const rate = Math.round(total / (load.ms / 1000));
      console.log(
        `round ${round}: postgres load ${total} rows from ${data.batches} batches in ${(load.ms / 1000).toFixed(2)} s = ${rate} rows/s, peak RSS ${Math.round(Math.max(...runs.load.map((r) => r.peakMb)))} MB; ` +
          `psql \\copy into jsonb ${(copy.ms / 1000).toFixed(2)} s: ratio ${(load.ms / copy.ms).toFixed(2)}x (target <= 1.7x); ` +
          `psql COPY + INSERT … ON CONFLICT ${(merge.ms / 1000).toFixed(2)} s: ratio ${(load.ms / merge.ms).toFixed(2)}x`,
      );
      console.log(`  each pass (s): load ${seconds(runs.load)}; \\copy ${seconds(runs.copy)}; COPY + ON CONFLICT ${seconds(runs.merge)}`);
    }
  } finally {
    server?.stop();
    if (process.env.BENCH_KEEP) console.log('kept', dir);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ? Number(process.argv[2]) : undefined);
