import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { GithubSim } from '../../src/demo/github-sim.js';
import { fixturePath } from './fixtures.js';
import { type CliResult, queryDuck, runCli, tempDir, writeConfig } from './workspace.js';

/** A real recorded GitHub file from test/fixtures/github. */
export const githubFixture = (name: string): string => fixturePath(`github/${name}`);

export interface GithubWorkspace {
  dir: string;
  cfg: string;
  lake: string;
  stateDir: string;
  warehouse: string;
}

/** A workspace with local storage, DuckDB and one `github` source pointed at the simulator. */
export function githubWorkspace(name: string, sim: GithubSim, repos: string[], source: Record<string, unknown> = {}): GithubWorkspace {
  const dir = tempDir(name);
  const ws = { dir, cfg: '', lake: path.join(dir, 'lake'), stateDir: path.join(dir, 'state'), warehouse: path.join(dir, 'warehouse.duckdb') };
  ws.cfg = writeGithubConfig(ws, sim, repos, source);
  return ws;
}

/** Writes another config for the same workspace (e.g. with a different token). */
export function writeGithubConfig(
  ws: Omit<GithubWorkspace, 'cfg'>,
  sim: GithubSim,
  repos: string[],
  source: Record<string, unknown> = {},
  file = 'sluice.yaml',
) {
  return writeConfig(
    ws.dir,
    {
      state_dir: ws.stateDir,
      storage: { type: 'local', path: ws.lake },
      warehouse: { type: 'duckdb', path: ws.warehouse },
      sources: [{ name: 'github', type: 'github', base_url: sim.url, repos, retry_base_ms: 5, ...source }],
    },
    file,
  );
}

/** `sluice --config <cfg> …args` in the workspace. */
export function sluice(ws: Pick<GithubWorkspace, 'dir' | 'cfg'>, args: string[], o: { killAfterMs?: number } = {}): Promise<CliResult> {
  return runCli(['--config', ws.cfg, ...args], { cwd: ws.dir, ...o });
}

export const output = (r: CliResult): string =>
  `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr.slice(-4000)}`;

const BATCH = /^github\/events\/dt=(\d{4}-\d{2}-\d{2})\/hr=(\d{2})\/([^/]+)\.jsonl\.gz$/;

export interface StoredBatch {
  key: string;
  hourMs: number;
  lines: string[];
}

/** Every batch under storage's github/events/, gunzipped; throws on a bad name or a broken gzip. */
export function storedBatches(lake: string): StoredBatch[] {
  const root = path.join(lake, 'github', 'events');
  if (!fs.existsSync(root)) return [];
  const out: StoredBatch[] = [];
  for (const rel of fs.readdirSync(root, { recursive: true }) as string[]) {
    const file = path.join(root, rel);
    if (!fs.statSync(file).isFile()) continue;
    const key = `github/events/${rel.split(path.sep).join('/')}`;
    const m = BATCH.exec(key);
    if (!m) throw new Error(`unexpected file in storage: ${key}`);
    const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
    out.push({ key, hourMs: Date.parse(`${m[1]}T${m[2]}:00:00Z`), lines: text.split('\n').filter((l) => l !== '') });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

export interface WarehouseState {
  ids: string[];
  rows: number;
  distinct: number;
  data: Map<string, unknown>;
  loads: Array<{ batch_key: string; rows: number; rejected: number }>;
  rejects: Array<{ batch_key: string; line_number: number; reason: string; line: string }>;
}

/** What the DuckDB file holds for github/events (read-only; the CLI must have exited). */
export async function warehouseState(file: string): Promise<WarehouseState> {
  const raw = await queryDuck<{ id: string; data: string }>(file, 'SELECT id, CAST(data AS VARCHAR) AS data FROM raw.github_events');
  const loads = await queryDuck<{ batch_key: string; rows: string; rejected: string }>(
    file,
    'SELECT batch_key, rows, rejected FROM sluice._loads ORDER BY batch_key',
  );
  const rejects = await queryDuck<{ batch_key: string; line_number: string; reason: string; line: string }>(
    file,
    'SELECT batch_key, line_number, reason, line FROM sluice._rejects ORDER BY batch_key, line_number',
  );
  return {
    ids: raw.map((r) => r.id).sort(),
    rows: raw.length,
    distinct: new Set(raw.map((r) => r.id)).size,
    data: new Map(raw.map((r) => [r.id, JSON.parse(r.data) as unknown])),
    loads: loads.map((l) => ({ batch_key: l.batch_key, rows: Number(l.rows), rejected: Number(l.rejected) })),
    rejects: rejects.map((r) => ({ ...r, line_number: Number(r.line_number) })),
  };
}

/** The ids in storage batches (lines without an id are skipped: they are the rejects). */
export function storedIds(batches: StoredBatch[]): string[] {
  const ids: string[] = [];
  for (const b of batches) {
    for (const line of b.lines) {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id === 'string') ids.push(id);
    }
  }
  return ids;
}

export const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

/** Files under the landing folder that are batches or their temp files. */
export function landingLeftovers(stateDir: string): string[] {
  const root = path.join(stateDir, 'landing');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((p) => /\.jsonl\.gz/.test(p));
}

/** Removes a workspace folder, whatever is left in it. */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
