// Benchmark (issue 2): 200,000 GitHub-shaped events served by the simulated API, `sluice run` into
// DuckDB, against the floor: DuckDB loading the same batches directly with read_json.
// Prints events/s, peak RSS and the ratio. Run alone: node bench/github-run.mjs [events]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGithubSim } from '../dist/demo/github-sim.js';
import { duckdbFloor, runSluice } from './support/measure.mjs';

const PER_REPO = 250; // GitHub serves at most 300 events of a feed

export async function main(total = 200_000) {
  const repos = Array.from({ length: Math.ceil(total / PER_REPO) }, (_, i) => `org${Math.floor(i / 50)}/repo${i}`);
  const sim = await startGithubSim({ seed: 11, repos, events: PER_REPO, spanHours: 24, rateLimit: 1_000_000 });
  await warm(sim.url, repos); // time sluice, not the simulator rendering its pages
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-gh-'));
  try {
    const config = {
      state_dir: '.sluice',
      storage: { type: 'local', path: './lake' },
      warehouse: { type: 'duckdb', path: './warehouse.duckdb' },
      sources: [{ name: 'github', type: 'github', base_url: sim.url, repos, concurrency: 16 }],
    };
    fs.writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify(config));
    const events = sim.expectedIds().length;
    const run = await runSluice(['run', 'github'], dir);

    // The floor: DuckDB reading the same batches itself into a plain table.
    const { ms: floorMs, rows } = await duckdbFloor(path.join(dir, 'floor.duckdb'), path.join(dir, 'lake/github/events/*/*/*.jsonl.gz'));

    const rate = Math.round(events / (run.ms / 1000));
    console.log(`github run: ${events} events in ${(run.ms / 1000).toFixed(2)} s = ${rate} events/s, peak RSS ${Math.round(run.peakMb)} MB (target < 300 MB)`);
    console.log(`floor (DuckDB read_json of the same ${rows} rows): ${(floorMs / 1000).toFixed(2)} s`);
    console.log(`ratio sluice run / floor: ${(run.ms / floorMs).toFixed(2)}x (target <= 3x)`);
    return { events, ms: run.ms, peakMb: run.peakMb, floorMs };
  } finally {
    await sim.close();
    if (process.env.BENCH_KEEP) console.log('kept', dir);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Requests every page once, so the simulator has rendered and cached them before the timed run. */
async function warm(url, repos) {
  for (let i = 0; i < repos.length; i += 32) {
    await Promise.all(
      repos.slice(i, i + 32).map(async (repo) => {
        for (let next = `${url}/repos/${repo}/events?per_page=100`; next; ) {
          const res = await fetch(next);
          await res.arrayBuffer();
          next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
        }
      }),
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ? Number(process.argv[2]) : undefined);
