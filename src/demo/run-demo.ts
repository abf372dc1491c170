import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { Project } from '../pipeline/project.js';
import { runPipeline } from '../pipeline/run.js';
import type { RunRecord } from '../pipeline/run-record.js';
import { projectStatus, type StreamStatus } from '../pipeline/status.js';
import { bundledFiles } from '../transform/bundled.js';
import { startAmplitudeSim } from './amplitude-sim.js';
import { startGithubSim } from './github-sim.js';
import { type DemoMetrics, demoMetrics } from './metrics.js';

export interface DemoOptions {
  /** Where to put the demo project; a temp folder (removed afterwards) when not kept. */
  dir?: string;
  keep: boolean;
  log: Logger;
}

export interface DemoResult {
  dir: string;
  kept: boolean;
  first: RunRecord;
  second: RunRecord;
  status: StreamStatus[];
  metrics: DemoMetrics;
}

const REPOS = ['duckdb/duckdb', 'apache/spark', 'delta-io/delta'];

/**
 * The whole pipeline offline: built-in simulated GitHub and Amplitude APIs (seeded, not recorded data), local
 * storage and the embedded DuckDB. Runs twice to show the incremental path.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const dir = path.resolve(o.dir ?? (o.keep ? 'sluice-demo' : fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-demo-'))));
  fs.mkdirSync(dir, { recursive: true });
  const sim = await startGithubSim({ seed: 7, repos: REPOS, events: 250, malformed: true });
  const amp = await startAmplitudeSim({ seed: 7, meanEventsPerHour: 20 });
  try {
    const configFile = path.join(dir, 'sluice.yaml');
    fs.writeFileSync(
      configFile,
      [
        '# sluice demo: simulated GitHub events and Amplitude Export APIs on this machine (they stop when the demo ends).',
        'state_dir: .sluice',
        'storage: { type: local, path: ./lake }',
        'warehouse: { type: duckdb, path: ./warehouse.duckdb }',
        'sources:',
        `  - { name: github, type: github, base_url: "${sim.url}", repos: [${REPOS.join(', ')}], retry_base_ms: 50 }`,
        // A window source: every hour of the last two days, up to two hours ago, one batch per hour.
        `  - { name: amplitude, type: amplitude, base_url: "${amp.url}", api_key: ${amp.options.apiKey}, secret_key: ${amp.options.secretKey}, lookback_days: 2, lag_hours: 2, retry_base_ms: 50 }`,
        '',
      ].join('\n'),
    );
    // The bundled models, built after every load: staging → intermediate → marts.
    for (const set of ['github', 'amplitude']) {
      for (const [rel, text] of bundledFiles(set)) {
        const file = path.join(dir, 'models', rel);
        if (fs.existsSync(file)) continue;
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
      }
    }
    const config = loadConfig({ file: configFile });
    const project = new Project(config, o.log);
    let first: RunRecord;
    let second: RunRecord;
    let status: StreamStatus[];
    let metrics: DemoMetrics;
    try {
      first = await runPipeline(project, { command: 'demo', steps: ['fetch', 'sync', 'load', 'transform'] });
      second = await runPipeline(project, { command: 'demo', steps: ['fetch', 'sync', 'load', 'transform'] });
      status = await projectStatus(project);
      metrics = await demoMetrics(project);
    } finally {
      await project.close();
    }
    return { dir, kept: o.keep, first, second, status, metrics };
  } finally {
    await sim.close();
    await amp.close();
    if (!o.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}
