// Benchmark (issue 20): what tracking the schema (DESIGN §9) costs a load. The same lake of
// GitHub-shaped events (~1 KB, 38 field paths to depth 3) is loaded by `sluice load` into DuckDB
// and into PostgreSQL, with the stream's schema tracked and with `schema: { track: false }`,
// alternately, three times each; the best of each is compared (target: tracking costs <= 10 %).
// PostgreSQL: a throwaway cluster of Debian's postgresql (or SLUICE_BENCH_PG_URL; PG=0 skips it).
// Run alone: node bench/schema-load.mjs [rows]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeData } from './support/github-events.mjs';
import { runSluice } from './support/measure.mjs';
import { query, startServer } from './support/postgres.mjs';

const ROUNDS = 3;

function config(dir, lake, warehouse, track) {
  fs.writeFileSync(
    path.join(dir, 'sluice.yaml'),
    JSON.stringify({
      state_dir: './state',
      storage: { type: 'local', path: lake },
      warehouse,
      sources: [{ name: 'github', type: 'github', repos: ['bench/bench'], ...(track ? {} : { schema: { track: false } }) }],
    }),
  );
}

/** Best load time of each mode, alternating; `fresh` empties the warehouse before each load. */
async function compare(label, dir, lake, warehouse, fresh, rows) {
  const best = { on: Number.POSITIVE_INFINITY, off: Number.POSITIVE_INFINITY };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 ? ['off', 'on'] : ['on', 'off']) {
      await fresh();
      fs.rmSync(path.join(dir, 'state'), { recursive: true, force: true });
      config(dir, lake, warehouse, mode === 'on');
      const r = await runSluice(['load', 'github'], dir);
      best[mode] = Math.min(best[mode], r.ms);
    }
  }
  const s = (ms) => (ms / 1000).toFixed(2);
  console.log(`${label} load of ${rows} rows: schema tracked ${s(best.on)} s, not tracked ${s(best.off)} s (best of ${ROUNDS} each)`);
  console.log(`${label}: tracking costs ${(((best.on - best.off) / best.off) * 100).toFixed(0)}% of the load (target <= 10%)`);
  return best;
}

export async function main(total = 200_000) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-schema-'));
  let server;
  try {
    const data = writeData(dir, total);
    const duck = path.join(dir, 'warehouse.duckdb');
    await compare('duckdb', dir, data.lake, { type: 'duckdb', path: duck }, async () => fs.rmSync(duck, { force: true }), total);
    if (process.env.PG === '0') return;
    server = process.env.SLUICE_BENCH_PG_URL ? undefined : await startServer(dir);
    const url = process.env.SLUICE_BENCH_PG_URL ?? server.url;
    const db = url.replace(/\/[^/]*$/, '/bench_schema');
    const fresh = async () => {
      await query(url, 'DROP DATABASE IF EXISTS bench_schema');
      await query(url, 'CREATE DATABASE bench_schema');
      await query(url, 'CHECKPOINT');
    };
    await compare('postgres', dir, data.lake, { type: 'postgres', url: db }, fresh, total);
  } finally {
    server?.stop();
    if (process.env.BENCH_KEEP) console.log('kept', dir);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ? Number(process.argv[2]) : undefined);
