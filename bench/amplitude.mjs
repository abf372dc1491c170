// Benchmarks of the Amplitude path, each printed beside its reference:
// 1. Backfill: 720 hours, one hour per request, 200 ms latency, concurrency 8 → wall time vs the
//    ideal (requests × latency ÷ concurrency). Target <= 1.3x.
// 2. Throughput: ~1.2 KB events, 2,080 an hour, `sluice run` (fetch from the loopback simulator →
//    sync → load into DuckDB) against the floor: DuckDB reading the same stored batches itself
//    with read_json into a table. 1x = 100 hours (~208,000 events), 4x = 400 hours. Run and floor
//    alternate, three rounds; the ranges and each run's ratio are printed, and the median ratio is
//    the figure (the machine is shared). Targets: run <= 2x the floor at peak RSS < 300 MB; 4x's
//    time per event <= 1.15x the 1x one's, its peak RSS <= 1.2x the 1x one's.
// 3. The same 1x run with the memory devices off (SLUICE_MEMORY_DEVICES=off, see src/core/memory.ts).
// Run alone: node bench/amplitude.mjs [backfill|1x|4x|devices ...]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { startAmplitudeSim } from '../dist/demo/amplitude-sim.js';
import { duckdbFloor, median, runSluice } from './support/measure.mjs';

const HOUR = 3_600_000;
const PER_HOUR = 2080;

function project(sim, source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-amp-'));
  const config = {
    state_dir: './state',
    storage: { type: 'local', path: './lake' },
    warehouse: { type: 'duckdb', path: './warehouse.duckdb' },
    sources: [{ name: 'amplitude', type: 'amplitude', base_url: sim.url, api_key: sim.options.apiKey, secret_key: sim.options.secretKey, ...source }],
  };
  fs.writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify(config));
  return dir;
}

const iso = (ms) => new Date(ms).toISOString().slice(0, 13);
const s = (ms) => (ms / 1000).toFixed(2);
const range = (xs, f = (x) => x.toFixed(2)) => (Math.min(...xs) === Math.max(...xs) ? f(xs[0]) : `${f(Math.min(...xs))}–${f(Math.max(...xs))}`);

async function backfill() {
  const latencyMs = 200;
  const concurrency = 8;
  const hours = 720;
  const sim = await startAmplitudeSim({ seed: 21, meanEventsPerHour: 5, latencyMs });
  const start = Date.UTC(2025, 0, 1);
  const dir = project(sim, { concurrency, max_hours_per_request: 1 });
  await sim.warm(new Date(start).toISOString(), start + hours * HOUR);
  try {
    const r = await runSluice(['fetch', 'amplitude', '--start', iso(start), '--end', iso(start + (hours - 1) * HOUR)], dir);
    const requests = sim.requests.length;
    const ideal = (requests * latencyMs) / concurrency;
    console.log(`backfill ${hours} hours: ${requests} requests in ${s(r.ms)} s; ideal ${s(ideal)} s; ratio ${(r.ms / ideal).toFixed(2)}x (target <= 1.3x)`);
  } finally {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One `sluice run` of `hours` hours into a new project, then the floor over its lake. */
async function runOnce(sim, start, hours, env = {}) {
  const dir = project(sim, { concurrency: 4, max_hours_per_request: 24 });
  try {
    Object.assign(process.env, env);
    const r = await runSluice(['run', 'amplitude', '--start', iso(start), '--end', iso(start + (hours - 1) * HOUR)], dir).finally(() => {
      for (const k of Object.keys(env)) delete process.env[k];
    });
    const inst = await DuckDBInstance.create(path.join(dir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await inst.connect();
    const events = Number((await conn.runAndReadAll('SELECT count(*) FROM raw.amplitude_events')).getRows()[0][0]);
    conn.closeSync();
    inst.closeSync();
    const record = JSON.parse(
      fs
        .readFileSync(path.join(dir, 'state', 'runs.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .at(-1),
    );
    const t = record.streams[0].timings ?? {};
    const floor = await duckdbFloor(path.join(dir, 'floor.duckdb'), path.join(dir, 'lake/amplitude/events/*/*/*.jsonl.gz'));
    if (floor.rows !== events) throw new Error(`the warehouse holds ${events} events, the floor read ${floor.rows}`);
    return {
      events,
      ms: r.ms,
      peakMb: r.peakMb,
      floorMs: floor.ms,
      phases: { fetch: t.fetch_ms, sync: t.sync_ms, load: t.load_ms },
      groups: t.load_group_count,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function print(label, runs) {
  const ev = runs[0].events;
  const ratios = runs.map((r) => r.ms / r.floorMs);
  const phase = (k) => range(runs.map((r) => (r.phases[k] ?? 0) / 1000));
  console.log(
    `${label}: ${ev} events, run ${range(runs.map((r) => r.ms / 1000))} s vs floor ${range(runs.map((r) => r.floorMs / 1000))} s: ` +
      `ratio ${median(ratios).toFixed(2)}x, the median of ${runs.length} runs (target <= 2x; each run ${ratios.map((x) => x.toFixed(2)).join(', ')}); ` +
      `${range(
        runs.map((r) => r.events / (r.ms / 1000)),
        (x) => String(Math.round(x)),
      )} events/s; peak RSS ${range(
        runs.map((r) => r.peakMb),
        (x) => String(Math.round(x)),
      )} MB (target < 300 MB)`,
  );
  console.log(`  phases (s): fetch ${phase('fetch')}, sync ${phase('sync')}, load ${phase('load')} in ${runs[0].groups} transactions`);
}

async function throughput(which) {
  const start = Date.UTC(2025, 1, 1);
  const maxHours = which.includes('4x') ? 400 : 100;
  const sim = await startAmplitudeSim({ seed: 22, meanEventsPerHour: PER_HOUR }); // events are ~1.2 KB
  await sim.warm(new Date(start).toISOString(), start + maxHours * HOUR); // time sluice, not the simulator
  try {
    let one;
    if (which.includes('1x')) {
      one = [];
      for (let i = 0; i < 3; i++) one.push(await runOnce(sim, start, 100));
      print('1x', one);
    }
    if (which.includes('4x')) {
      const four = [];
      for (let i = 0; i < 3; i++) four.push(await runOnce(sim, start, 400));
      print('4x', four);
      if (one) {
        const perEvent = (runs) => Math.min(...runs.map((r) => r.ms / r.events));
        const peak = (runs) => Math.min(...runs.map((r) => r.peakMb));
        console.log(
          `  growth: 4x time per event ${(perEvent(four) / perEvent(one)).toFixed(2)}x the 1x one's (target <= 1.15x), peak RSS ${(peak(four) / peak(one)).toFixed(2)}x (target <= 1.2x) (best of each)`,
        );
      }
    }
    if (which.includes('devices')) {
      const on = [];
      const off = [];
      for (let i = 0; i < 3; i++) {
        on.push(await runOnce(sim, start, 100));
        off.push(await runOnce(sim, start, 100, { SLUICE_MEMORY_DEVICES: 'off' }));
      }
      print('1x, memory devices on ', on);
      print('1x, memory devices off', off);
    }
  } finally {
    await sim.close();
  }
}

export async function main(which = ['backfill', '1x', '4x', 'devices']) {
  if (which.includes('backfill')) await backfill();
  await throughput(which);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.length > 2 ? process.argv.slice(2) : undefined);
