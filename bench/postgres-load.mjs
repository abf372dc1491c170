// Benchmark (issue 5): 1,000,000 GitHub-shaped events in hourly batches, `sluice load` into
// PostgreSQL, against the floor: `psql \copy` of the same lines into a plain jsonb table.
// Prints rows/s, peak RSS and the ratio (target ≤ 2×). Uses a throwaway cluster of Debian's
// postgresql (or SLUICE_BENCH_PG_URL). Run alone: node bench/postgres-load.mjs [rows]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeData } from './support/github-events.mjs';
import { timed } from './support/measure.mjs';
import { query, startServer } from './support/postgres.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function main(total = 1_000_000) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-pg-'));
  let server;
  try {
    const data = writeData(dir, total);
    server = process.env.SLUICE_BENCH_PG_URL ? undefined : await startServer(dir);
    const url = process.env.SLUICE_BENCH_PG_URL ?? server.url;
    const psql = server?.psql ?? 'psql';
    const db = (name) => url.replace(/\/[^/]*$/, `/${name}`);
    for (const name of ['bench_sluice', 'bench_floor']) {
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

    await query(url, 'CHECKPOINT');
    const load = await timed(process.execPath, [path.join(ROOT, 'bin/sluice.js'), 'load', 'github'], {
      cwd: dir,
      env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' },
    });
    const [loaded] = await query(db('bench_sluice'), 'SELECT count(*)::int AS n FROM raw.github_events');

    // The floor: psql streaming the same lines into a plain jsonb table (no key, no merge, no ledger).
    await query(db('bench_floor'), 'CREATE TABLE floor (data jsonb)');
    await query(url, 'CHECKPOINT');
    const copy = await timed(psql, [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      db('bench_floor'),
      '-c',
      `\\copy floor(data) from '${data.plain}' with (format csv, quote e'\\x01', delimiter e'\\x02')`,
    ]);
    const [copied] = await query(db('bench_floor'), 'SELECT count(*)::int AS n FROM floor');

    const rate = Math.round(loaded.n / (load.ms / 1000));
    console.log(
      `postgres load: ${loaded.n} rows from ${data.batches} batches in ${(load.ms / 1000).toFixed(2)} s = ${rate} rows/s, peak RSS ${Math.round(load.peakMb)} MB`,
    );
    console.log(`floor (psql \\copy of the same ${copied.n} lines into a plain jsonb table): ${(copy.ms / 1000).toFixed(2)} s`);
    console.log(`ratio sluice load / floor: ${(load.ms / copy.ms).toFixed(2)}x (target <= 2x)`);
    if (loaded.n !== total || copied.n !== total) throw new Error(`expected ${total} rows, sluice loaded ${loaded.n}, \\copy ${copied.n}`);
    return { rows: loaded.n, ms: load.ms, floorMs: copy.ms, peakMb: load.peakMb };
  } finally {
    server?.stop();
    if (process.env.BENCH_KEEP) console.log('kept', dir);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ? Number(process.argv[2]) : undefined);
