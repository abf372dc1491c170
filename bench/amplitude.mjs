// Benchmarks (issue 3), each printed beside its ideal:
// 1. Backfill: 720 hours, one hour per request, 200 ms latency, concurrency 8 → wall time vs the
//    ideal (requests × latency ÷ concurrency).
// 2. Throughput: 1,000,000 events of ~1 KB through fetch + sync + load into DuckDB → events/s and
//    peak RSS, against the floor: DuckDB reading the same batches itself.
// Run alone: node bench/amplitude.mjs [events]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { startAmplitudeSim } from '../dist/demo/amplitude-sim.js';
import { duckdbFloor, runSluice } from './support/measure.mjs';

const HOUR = 3_600_000;

function project(sim, source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-amp-'));
  const config = {
    storage: { type: 'local', path: './lake' },
    warehouse: { type: 'duckdb', path: './warehouse.duckdb' },
    sources: [{ name: 'amplitude', type: 'amplitude', base_url: sim.url, api_key: sim.options.apiKey, secret_key: sim.options.secretKey, ...source }],
  };
  fs.writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify(config));
  return dir;
}

const iso = (ms) => new Date(ms).toISOString().slice(0, 13);

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
    console.log(
      `backfill ${hours} hours: ${requests} requests in ${(r.ms / 1000).toFixed(2)} s; ideal ${(ideal / 1000).toFixed(2)} s; ratio ${(r.ms / ideal).toFixed(2)}x (target <= 1.3x)`,
    );
  } finally {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function throughput(total) {
  const perHour = 2000;
  const hours = Math.ceil(total / perHour);
  const sim = await startAmplitudeSim({ seed: 22, meanEventsPerHour: perHour }); // events are ~1.2 KB
  const start = Date.UTC(2025, 1, 1);
  const dir = project(sim, { concurrency: 4, max_hours_per_request: 24 });
  await sim.warm(new Date(start).toISOString(), start + hours * HOUR); // time sluice, not the simulator
  try {
    const r = await runSluice(['run', 'amplitude', '--start', iso(start), '--end', iso(start + (hours - 1) * HOUR)], dir);
    const inst = await DuckDBInstance.create(path.join(dir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await inst.connect();
    const events = Number((await conn.runAndReadAll('SELECT count(*) FROM raw.amplitude_events')).getRows()[0][0]);
    conn.closeSync();
    inst.closeSync();
    const { ms: floorMs } = await duckdbFloor(path.join(dir, 'floor.duckdb'), path.join(dir, 'lake/amplitude/events/*/*/*.jsonl.gz'));
    console.log(
      `throughput: ${events} events in ${(r.ms / 1000).toFixed(2)} s = ${Math.round(events / (r.ms / 1000))} events/s, peak RSS ${Math.round(r.peakMb)} MB (target < 300 MB)`,
    );
    console.log(`floor (DuckDB read_json of the same batches): ${(floorMs / 1000).toFixed(2)} s; ratio ${(r.ms / floorMs).toFixed(2)}x (target <= 2x)`);
  } finally {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(total = 1_000_000) {
  await backfill();
  await throughput(total);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ? Number(process.argv[2]) : undefined);
