// Benchmark: 200,000 GitHub-shaped events in hourly batches, `sluice load` into PostgreSQL, three
// rounds, each against two floors: `psql \copy` of the same lines into a plain jsonb table (target
// <= 1.7x), and psql doing COPY into a temp table + INSERT … ON CONFLICT on the key (a merge's own
// floor). Prints rows/s, peak RSS and the ratios. Uses a throwaway cluster of Debian's
// postgresql (or SLUICE_BENCH_PG_URL). Run alone: node bench/postgres-load.mjs [rows]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeData } from './support/github-events.mjs';
import { timed } from './support/measure.mjs';
import { query, startServer } from './support/postgres.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const ROUNDS = 3;

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
    for (let round = 1; round <= ROUNDS; round++) {
      for (const name of ['bench_sluice', 'bench_copy', 'bench_merge']) {
        await query(url, `DROP DATABASE IF EXISTS ${name}`);
        await query(url, `CREATE DATABASE ${name}`);
      }
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

      await query(url, 'CHECKPOINT');
      const load = await timed(process.execPath, [path.join(ROOT, 'bin/sluice.js'), 'load', 'github'], {
        cwd: dir,
        env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' },
      });
      const [loaded] = await query(db('bench_sluice'), 'SELECT count(*)::int AS n FROM raw.github_events');

      // Floor 1: psql streaming the same lines into a plain jsonb table (no key, no merge, no ledger).
      await query(db('bench_copy'), 'CREATE TABLE floor (data jsonb)');
      await query(url, 'CHECKPOINT');
      const copy = await runPsql('bench_copy', [copyInto('floor(data)')]);
      const [copied] = await query(db('bench_copy'), 'SELECT count(*)::int AS n FROM floor');

      // Floor 2, the real floor of a merge: COPY into a temp table, then one INSERT … ON CONFLICT
      // on the key into a keyed table, as a merge must.
      await query(db('bench_merge'), 'CREATE TABLE floor (id text PRIMARY KEY, data jsonb)');
      await query(url, 'CHECKPOINT');
      const merge = await runPsql('bench_merge', [
        'BEGIN; CREATE TEMP TABLE stage (data jsonb) ON COMMIT DROP',
        copyInto('stage(data)'),
        `INSERT INTO floor SELECT data->>'id', data FROM stage ON CONFLICT (id) DO UPDATE SET data = excluded.data; COMMIT`,
      ]);
      const [merged] = await query(db('bench_merge'), 'SELECT count(*)::int AS n FROM floor');

      if (loaded.n !== total || copied.n !== total || merged.n !== total)
        throw new Error(`expected ${total} rows: sluice ${loaded.n}, \\copy ${copied.n}, merge ${merged.n}`);
      const rate = Math.round(loaded.n / (load.ms / 1000));
      console.log(
        `round ${round}: postgres load ${loaded.n} rows from ${data.batches} batches in ${(load.ms / 1000).toFixed(2)} s = ${rate} rows/s, peak RSS ${Math.round(load.peakMb)} MB; ` +
          `psql \\copy into jsonb ${(copy.ms / 1000).toFixed(2)} s: ratio ${(load.ms / copy.ms).toFixed(2)}x (target <= 1.7x); ` +
          `psql COPY + INSERT … ON CONFLICT ${(merge.ms / 1000).toFixed(2)} s: ratio ${(load.ms / merge.ms).toFixed(2)}x`,
      );
    }
  } finally {
    server?.stop();
    if (process.env.BENCH_KEEP) console.log('kept', dir);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ? Number(process.argv[2]) : undefined);
