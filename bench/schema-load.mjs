// Benchmark (issue 20): what tracking the schema (DESIGN §9) costs a load. The same lake of
// GitHub-shaped events (~1 KB, 38 field paths to depth 3) is loaded by `sluice load` into DuckDB
// and into PostgreSQL, with the stream's schema tracked and with `schema: { track: false }`,
// alternately, three times each; the best of each is compared (target: tracking costs <= 10 %).
// Then the floor of an exact per-row check, on the rows as the warehouse holds them, beside the
// untracked load: in DuckDB, one more parse of each row and the fingerprint the load computes
// (the types of the known paths and the keys of the known objects); in PostgreSQL, one probe of
// each known path (the check also types each value and looks for new keys).
// DuckDB runs its check on a second connection while the load's transaction inserts the group, so
// the fingerprint's time there is mostly hidden behind the insert; PostgreSQL's load learns from a
// scan of the lines it streams to COPY instead, so its line shows what an exact check in SQL would cost.
// PostgreSQL: a throwaway cluster of Debian's postgresql (or SLUICE_BENCH_PG_URL; PG=0 skips it).
// Run alone: node bench/schema-load.mjs [rows]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { DEFAULT_CONTRACT } from '../dist/core/schema.js';
import { DEFAULT_LOAD_MEMORY_LIMIT } from '../dist/warehouse/duckdb/config.js';
import { fingerprintSql } from '../dist/warehouse/duckdb/schema-sql.js';
import { guideSchema, knownTree } from '../dist/warehouse/schema-rows.js';
import { quoteLiteral } from '../dist/warehouse/sql.js';
import { writeData } from './support/github-events.mjs';
import { runSluice } from './support/measure.mjs';
import { query, quiesce, startServer } from './support/postgres.mjs';

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

/** One `sluice load` of the whole lake into an empty warehouse (`fresh` empties it). */
async function loadAll(dir, lake, warehouse, fresh, track) {
  await fresh();
  fs.rmSync(path.join(dir, 'state'), { recursive: true, force: true });
  config(dir, lake, warehouse, track);
  return runSluice(['load', 'github'], dir);
}

/** Best load time of each mode, alternating; `fresh` empties the warehouse before each load. */
async function compare(label, dir, lake, warehouse, fresh, rows) {
  const best = { on: Number.POSITIVE_INFINITY, off: Number.POSITIVE_INFINITY };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 ? ['off', 'on'] : ['on', 'off']) {
      const r = await loadAll(dir, lake, warehouse, fresh, mode === 'on');
      best[mode] = Math.min(best[mode], r.ms);
    }
  }
  const s = (ms) => (ms / 1000).toFixed(2);
  console.log(`${label} load of ${rows} rows: schema tracked ${s(best.on)} s, not tracked ${s(best.off)} s (best of ${ROUNDS} each)`);
  // Rounded, not toFixed(0): a cost within noise of nothing prints 0%, not -0%.
  const cost = Math.round(((best.on - best.off) / best.off) * 100);
  console.log(`${label}: tracking costs ${cost}% of the load (target <= 10%)`);
  return best;
}

/** The stream's known schema laid out as the load checks it, from `sluice._schema`'s paths and types. */
const treeOf = (rows) => knownTree(guideSchema(rows.flatMap(([path, types]) => types.map((t) => [String(path), t]))), DEFAULT_CONTRACT.maxDepth);

const seconds = (ms) => (ms / 1000).toFixed(2);
const share = (ms, load) => `${((ms / load) * 100).toFixed(0)}%`;

async function bestOf(run) {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await run();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** One DuckDB thread and the load's memory cap, over the raw table a tracked load wrote. */
async function duckFloor(file, untrackedMs) {
  const instance = await DuckDBInstance.create(file, { threads: '1', memory_limit: DEFAULT_LOAD_MEMORY_LIMIT });
  const conn = await instance.connect();
  try {
    const known = (await conn.runAndReadAll("SELECT path, types FROM sluice._schema WHERE stream = 'events'")).getRows();
    const tree = treeOf(known.map(([p, t]) => [p, t.items.map(String)]));
    const over = (expr) => bestOf(() => conn.runAndReadAll(`SELECT sum(${expr}) FROM (SELECT data AS j FROM raw.github_events)`));
    const scan = await over('length(j)');
    const parse = (await over('len(json_keys(j))')) - scan;
    const fingerprint = (await over(`${fingerprintSql(tree)} % 2`)) - scan;
    console.log(
      `duckdb floor: one more parse of every row ${seconds(parse)} s (${share(parse, untrackedMs)} of the untracked load); ` +
        `the fingerprint (types of ${tree.paths.length} paths, keys of ${tree.objects.length} objects) ${seconds(fingerprint)} s (${share(fingerprint, untrackedMs)})`,
    );
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The time to probe each known path of every row (`->` per segment, as the check does), beyond a plain scan of the raw table. */
async function pgFloor(url, untrackedMs) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const known = await c.query("SELECT path, types FROM sluice._schema WHERE stream = 'events'");
    const paths = treeOf(known.rows.map((r) => [r.path, r.types])).paths.map((p) => p.segments);
    // OFFSET 0 keeps the planner from dropping the unused expressions.
    const over = (exprs) => bestOf(() => c.query(`SELECT count(*) FROM (SELECT ${exprs} AS x FROM raw.github_events s OFFSET 0) x WHERE x IS NOT NULL`));
    const scan = await over('s.data');
    const probes = (await over(`concat(${paths.map((p) => `(s.data${p.map((k) => ` -> ${quoteLiteral(k)}`).join('')}) IS NULL`).join(', ')})`)) - scan;
    console.log(
      `postgres, for comparison: probing the ${paths.length} known paths of every row in SQL (what an exact check there costs; the load scans the lines it streams instead) ${seconds(probes)} s (${share(probes, untrackedMs)} of the untracked load), ` +
        `${((probes / paths.length / untrackedMs) * 100).toFixed(1)}% per path`,
    );
  } finally {
    await c.end();
  }
}

export async function main(total = 200_000) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-schema-'));
  let server;
  try {
    const data = writeData(dir, total);
    const duck = path.join(dir, 'warehouse.duckdb');
    const freshDuck = async () => fs.rmSync(duck, { force: true });
    const duckBest = await compare('duckdb', dir, data.lake, { type: 'duckdb', path: duck }, freshDuck, total);
    await loadAll(dir, data.lake, { type: 'duckdb', path: duck }, freshDuck, true); // the floor reads its schema and rows
    await duckFloor(duck, duckBest.off);
    if (process.env.PG === '0') return;
    server = process.env.SLUICE_BENCH_PG_URL ? undefined : await startServer(dir);
    const url = process.env.SLUICE_BENCH_PG_URL ?? server.url;
    const db = url.replace(/\/[^/]*$/, '/bench_schema');
    const fresh = async () => {
      await query(url, 'DROP DATABASE IF EXISTS bench_schema');
      await query(url, 'CREATE DATABASE bench_schema');
      await quiesce(url);
    };
    const pgBest = await compare('postgres', dir, data.lake, { type: 'postgres', url: db }, fresh, total);
    await loadAll(dir, data.lake, { type: 'postgres', url: db }, fresh, true);
    await pgFloor(db, pgBest.off);
  } finally {
    server?.stop();
    if (process.env.BENCH_KEEP) console.log('kept', dir);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ? Number(process.argv[2]) : undefined);
