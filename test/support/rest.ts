import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SluiceError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { JsonValue, Source } from '../../src/core/source.js';
import { restSource } from '../../src/sources/rest/index.js';
import type { RestSim } from './rest-sim.js';
import { tempDir, writeConfig } from './workspace.js';

/** Offset paging as the simulated API speaks it. */
export const offset = (pageSize: number, totalPath?: string) => ({
  type: 'offset',
  limit_param: 'limit',
  offset_param: 'offset',
  page_size: pageSize,
  ...(totalPath ? { total_path: totalPath } : {}),
});

export const DICTIONARIES = ['agents', 'tags', 'users'] as const;

/** The call-center streams: three dictionaries, incremental sessions, and their scores. */
export const callStreams = (o: { lookback?: string; pageSize?: number } = {}) => [
  ...DICTIONARIES.map((name) => ({ name, path: `/${name}`, mode: 'full', primary_key: 'id', records_path: 'items', paginate: offset(o.pageSize ?? 7) })),
  {
    name: 'sessions',
    path: '/sessions',
    mode: 'incremental',
    primary_key: 'id',
    records_path: 'items',
    cursor: { field: 'updated_at', param: 'updated_from', ...(o.lookback ? { lookback: o.lookback } : {}) },
    paginate: offset(o.pageSize ?? 50, 'total'),
  },
  { name: 'scores', parent: 'sessions', path: '/sessions/{id}/scores', mode: 'incremental', primary_key: 'criterion' },
];

/** Login with the credentials taken from the environment (a `.env` beside the config). */
export const envLoginAuth = {
  type: 'login',
  path: '/auth/login',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: sluice fills ${VAR} from the environment
  body: { user: '${ET_USER}', password: '${ET_PASSWORD}' },
  token_field: 'access_token',
};

/** A `rest` source entry for the simulated API; `over` replaces top-level keys. */
export function restEntry(sim: RestSim, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'calls',
    type: 'rest',
    base_url: sim.url,
    retry_base_ms: 1,
    auth: { ...envLoginAuth, body: { user: sim.options.user, password: sim.options.password } },
    streams: callStreams(),
    ...over,
  };
}

export function openSource(entry: Record<string, unknown>): Source {
  return restSource.create(restSource.configSchema.parse(entry), {
    log: silentLogger,
    at: 'sources[0]',
    configDir: process.cwd(),
    tempDir: os.tmpdir(),
  }) as Source;
}

export interface StreamRead {
  lines: string[];
  records: Array<Record<string, unknown>>;
  checkpoint: JsonValue | undefined;
  failures: Array<{ unit: string; error: SluiceError }>;
  warnings: string[];
}

/** Reads one stream to the end, as the pipeline would. */
export async function readStream(source: Source, stream: string, o: { checkpoint?: JsonValue; limit?: number } = {}): Promise<StreamRead> {
  const out: StreamRead = { lines: [], records: [], checkpoint: undefined, failures: [], warnings: [] };
  const ctx = { checkpoint: o.checkpoint, limit: o.limit, runId: 'test', log: silentLogger, signal: new AbortController().signal };
  for await (const m of source.read(stream, ctx)) {
    if (m.type === 'records') {
      for (const r of m.records) {
        const line = r.line.toString();
        out.lines.push(line);
        out.records.push(JSON.parse(line) as Record<string, unknown>);
      }
    } else if (m.type === 'checkpoint') out.checkpoint = m.state;
    else if (m.type === 'failure') out.failures.push({ unit: m.unit, error: m.error });
    else if (m.type === 'warning') out.warnings.push(m.message);
  }
  return out;
}

/**
 * A project folder for the CLI: local storage, the given warehouse (DuckDB by default), and the
 * `calls` source with its credentials in a `.env` beside the config, as a user would keep them.
 */
export function restWorkspace(sim: RestSim, o: { warehouse?: unknown; streams?: unknown[]; password?: string } = {}): string {
  const dir = tempDir('rest');
  fs.writeFileSync(path.join(dir, '.env'), `ET_USER=${sim.options.user}\nET_PASSWORD=${o.password ?? sim.options.password}\n`);
  writeConfig(dir, {
    state_dir: '.sluice',
    storage: { type: 'local', path: './lake' },
    warehouse: o.warehouse ?? { type: 'duckdb', path: './warehouse.duckdb' },
    sources: [{ name: 'calls', type: 'rest', base_url: sim.url, retry_base_ms: 1, auth: envLoginAuth, streams: o.streams ?? callStreams({ lookback: '2h' }) }],
  });
  return dir;
}

/** Rows of a raw table as `{ key columns…, data }` with `data` parsed, in key order. */
export function rawRows(rows: Array<Record<string, unknown>>): Array<Record<string, unknown> & { data: Record<string, unknown> }> {
  return rows.map((r) => ({ ...r, data: (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown> }));
}
