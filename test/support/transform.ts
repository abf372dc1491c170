import fs from 'node:fs';
import path from 'node:path';
import { describe } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { Secret } from '../../src/core/redact.js';
import type { SqlTarget } from '../../src/core/sql-target.js';
import type { Warehouse } from '../../src/core/warehouse.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse.js';
import { PostgresWarehouse } from '../../src/warehouse/postgres/warehouse.js';
import { quoteLiteral } from '../../src/warehouse/sql.js';
import { fixturePath, GITHUB_EVENTS_PAGE } from './fixtures.js';
import { lacks } from './programs.js';

export interface GithubEvent {
  id: string;
  type: string;
  actor: { login: string };
  repo: { name: string };
  payload: { action?: string; pull_request?: { merged?: boolean } };
  created_at: string;
  org?: { login: string };
}

/** The recorded page of real GitHub events (test/fixtures/github). */
export function readGithubFixture(): GithubEvent[] {
  return JSON.parse(fs.readFileSync(fixturePath(GITHUB_EVENTS_PAGE), 'utf8')) as GithubEvent[];
}

/** Writes model files (`{ 'staging/a.sql': 'select 1' }`) under `dir`, replacing what was there. */
export function writeModels(dir: string, files: Record<string, string>): void {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
}

export type Dialect = 'duckdb' | 'postgres';

/** One suite per SQL dialect (`%s` in the name is the dialect); the PostgreSQL one skips where its server is missing. */
export function describeDialects(name: string, fn: (dialect: Dialect) => void): void {
  for (const dialect of ['duckdb', 'postgres'] as const) {
    describe.skipIf(dialect === 'postgres' && lacks('postgresql'))(name.replace('%s', dialect), () => fn(dialect));
  }
}

/** The warehouse's SQL target, as `transform` gets it; closing it closes the warehouse too. */
export async function openTarget(dialect: Dialect, where: string): Promise<SqlTarget> {
  const warehouse: Warehouse =
    dialect === 'duckdb' ? await DuckDbWarehouse.open(where) : await PostgresWarehouse.open({ type: 'postgres', url: new Secret(where) }, silentLogger);
  const target = await (warehouse.sqlTarget as () => Promise<SqlTarget>)();
  return new Proxy(target, {
    get(t, name) {
      if (name === 'close') return () => warehouse.close();
      const value = Reflect.get(t, name, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

/** A raw table as the loader makes it (DESIGN §7), filled with records as they came from the API. */
export async function loadRaw(target: SqlTarget, table: string, key: string, records: Array<Record<string, unknown>>): Promise<void> {
  const json = target.dialect === 'duckdb' ? 'JSON' : 'JSONB';
  await target.run('CREATE SCHEMA IF NOT EXISTS raw');
  await target.run(
    `CREATE TABLE IF NOT EXISTS raw.${table} (${key} VARCHAR PRIMARY KEY, data ${json}, _sluice_partition TIMESTAMP, _sluice_batch VARCHAR, _sluice_loaded_at TIMESTAMPTZ)`,
  );
  for (let i = 0; i < records.length; i += 200) {
    const values = records
      .slice(i, i + 200)
      .map((r) => `(${quoteLiteral(String(r[key]))}, CAST(${quoteLiteral(JSON.stringify(r))} AS ${json}), TIMESTAMP '2023-04-08 00:00:00', 'test', now())`)
      .join(', ');
    await target.run(`INSERT INTO raw.${table} VALUES ${values}`);
  }
}
