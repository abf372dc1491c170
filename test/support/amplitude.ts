import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AmplitudeSim } from '../../src/demo/amplitude-sim.js';
import { type CliResult, listFiles, queryDuck, runCli, tempDir, writeConfig } from './workspace.js';

export interface AmpWorkspace {
  dir: string;
  cfg: string;
  lake: string;
  db: string;
}

export function ampWorkspace(name: string, sim: AmplitudeSim, source: Record<string, unknown> = {}): AmpWorkspace {
  const dir = tempDir(name);
  const cfg = writeConfig(dir, {
    state_dir: '.sluice',
    storage: { type: 'local', path: 'lake' },
    warehouse: { type: 'duckdb', path: 'warehouse.duckdb' },
    sources: [
      {
        name: 'amplitude',
        type: 'amplitude',
        base_url: sim.url,
        api_key: sim.options.apiKey,
        secret_key: sim.options.secretKey,
        retry_base_ms: 5,
        max_hours_per_request: 24,
        ...source,
      },
    ],
  });
  return { dir, cfg, lake: path.join(dir, 'lake'), db: path.join(dir, 'warehouse.duckdb') };
}

export const ampRun = (ws: AmpWorkspace, args: string[], o: { killAfterMs?: number } = {}): Promise<CliResult> =>
  runCli(['--config', ws.cfg, ...args], { cwd: ws.dir, ...o });

/** ISO hour → the uuids in its storage batch; also every other file of the stream. */
export function storedHours(lake: string): { hours: Map<string, string[]>; files: string[] } {
  const base = path.join(lake, 'amplitude', 'events');
  const hours = new Map<string, string[]>();
  const files = listFiles(base);
  for (const f of files) {
    const m = /^dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\/data\.jsonl\.gz$/.exec(f);
    if (!m) continue;
    const text = zlib.gunzipSync(fs.readFileSync(path.join(base, f))).toString('utf8');
    const uuids = text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        try {
          return (JSON.parse(l) as { uuid?: string }).uuid ?? null;
        } catch {
          return null;
        }
      })
      .filter((u): u is string => typeof u === 'string');
    hours.set(`${m[1]}T${m[2]}:00:00Z`, uuids);
  }
  return { hours, files };
}

export async function loadedUuids(db: string): Promise<string[]> {
  return (await queryDuck<{ uuid: string }>(db, 'SELECT uuid FROM raw.amplitude_events')).map((r) => r.uuid);
}

export const sorted = (a: Iterable<string>) => [...a].sort();
