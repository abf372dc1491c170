import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';
import { runCli, tempDir, writeConfig } from './support/workspace.js';

const BATCHES = 240;
const ROWS = 800;
const KILLS = 8;

/** Which records carry the drift: region from batch 120 on (every 5th record), a string score from 180 on. */
const record = (b: number, i: number) => ({
  id: b * ROWS + i,
  name: `n${i}`,
  score: b >= 180 && i % 7 === 0 ? `${i}.5` : i + 0.5,
  meta: { plan: 'pro', seats: i % 9 },
  ...(b >= 120 && i % 5 === 0 ? { region: 'eu' } : {}),
});
const regionRows = (b: number) => (b >= 120 ? Math.ceil(ROWS / 5) : 0);

type Query = (sql: string) => Promise<Array<Record<string, unknown>>>;

/** What the warehouse holds of the stream, read as the next process would (DuckDB replays what a killed one committed). */
async function state(q: Query) {
  const tables = (await q("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'sluice'")).map((r) => r.t);
  if (!tables.includes('_loads') || !tables.includes('_schema')) return undefined;
  const loads = (await q("SELECT batch_key, rows FROM sluice._loads WHERE stream = 'accounts'")).map((r) => ({
    key: String(r.batch_key),
    rows: Number(r.rows),
  }));
  const schema = Object.fromEntries((await q("SELECT path, rows FROM sluice._schema WHERE stream = 'accounts'")).map((r) => [String(r.path), Number(r.rows)]));
  const changes = (await q("SELECT kind || ' ' || path AS c FROM sluice._schema_changes WHERE stream = 'accounts' ORDER BY c")).map((r) => String(r.c));
  const raw = Number((await q('SELECT count(*) AS n FROM raw.crm_accounts').catch(() => [{ n: 0 }]))[0]?.n ?? 0);
  return { loads, schema, changes, raw };
}

async function duck<T>(file: string, work: (q: Query) => Promise<T>): Promise<T> {
  const inst = await DuckDBInstance.create(file);
  const conn = await inst.connect();
  try {
    return await work(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/**
 * Loads killed at points spread over a load: after each kill the schema counts exactly the rows
 * the ledger holds (every record has an id; region is in known batches), and drift is recorded
 * once; an uninterrupted load then finishes it.
 */
async function killedLoads(
  warehouse: Record<string, unknown>,
  read: <T>(dir: string, work: (q: Query) => Promise<T>) => Promise<T>,
  reset: () => Promise<void>,
) {
  const dir = tempDir('schema-crash');
  try {
    writeConfig(dir, {
      storage: { type: 'local', path: './lake' },
      warehouse,
      sources: [
        {
          name: 'crm',
          type: 'rest',
          base_url: 'http://127.0.0.1:9/v1',
          streams: [{ name: 'accounts', path: '/a', mode: 'incremental', primary_key: 'id', cursor: { field: 'id', param: 'since' } }],
        },
      ],
    });
    const batchOf = new Map<string, number>();
    for (let b = 0; b < BATCHES; b++) {
      const hour = new Date(Date.parse('2026-01-01T00:00:00Z') + b * 3_600_000).toISOString();
      const key = `crm/accounts/dt=${hour.slice(0, 10)}/hr=${hour.slice(11, 13)}/p${b}.jsonl.gz`;
      batchOf.set(key, b);
      const file = path.join(dir, 'lake', key);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, zlib.gzipSync(Array.from({ length: ROWS }, (_, i) => `${JSON.stringify(record(b, i))}\n`).join('')));
    }
    // How long a whole load takes here, on a copy of the lake.
    const cal = tempDir('schema-crash-cal');
    fs.cpSync(dir, cal, { recursive: true });
    const t0 = Date.now();
    expect((await runCli(['load'], { cwd: cal })).code).toBe(0);
    const whole = Date.now() - t0;
    fs.rmSync(cal, { recursive: true, force: true });
    await reset();

    const seen: string[] = [];
    let kills = 0;
    for (let i = 0; kills < KILLS && i < KILLS * 3; i++) {
      const delay = Math.round(whole * (0.15 + (0.8 * (i % KILLS)) / KILLS));
      const r = await runCli(['load'], { cwd: dir, killAfterMs: delay });
      if (!r.killed) break;
      kills++;
      const s = await read(dir, state);
      if (!s) continue;
      const rows = s.loads.reduce((n, l) => n + l.rows, 0);
      seen.push(`${s.loads.length} batches`);
      // The schema counts exactly the rows the ledger says were loaded: no more, no fewer.
      expect(s.schema.id ?? 0, `after a kill at ${delay} ms`).toBe(rows);
      expect(s.raw).toBe(rows);
      expect(s.schema.region ?? 0).toBe(s.loads.reduce((n, l) => n + regionRows(batchOf.get(l.key)!), 0));
      expect(new Set(s.changes).size).toBe(s.changes.length);
    }
    expect(kills, `kills landed after ${seen.join(', ')}`).toBeGreaterThanOrEqual(3);

    const last = await runCli(['load'], { cwd: dir });
    expect(last.code, last.stderr).toBe(0);
    const s = await read(dir, state);
    expect(s?.raw).toBe(BATCHES * ROWS);
    expect(s?.schema).toMatchObject({ id: BATCHES * ROWS, region: (BATCHES - 120) * (ROWS / 5), 'meta.seats': BATCHES * ROWS });
    expect(s?.changes).toEqual(['new_field region', 'type_change score']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('sluice load killed with SIGKILL: the schema commits with the rows or not at all', () => {
  it(
    'DuckDB',
    () =>
      killedLoads(
        { type: 'duckdb', path: './warehouse.duckdb' },
        (dir, work) => duck(path.join(dir, 'warehouse.duckdb'), work),
        async () => {},
      ),
    240_000,
  );

  describe.skipIf(lacks('postgresql'))('PostgreSQL', () => {
    it('PostgreSQL', async () => {
      const server: PgServer = await startPostgres();
      try {
        const url = await server.database('crash');
        const q: Query = (sql) => server.query(sql, [], 'crash');
        const reset = async () => {
          await server.query('DROP SCHEMA IF EXISTS raw CASCADE; DROP SCHEMA IF EXISTS sluice CASCADE', [], 'crash');
        };
        await killedLoads({ type: 'postgres', url }, (_dir, work) => work(q), reset);
      } finally {
        stopPostgres(server);
      }
    }, 300_000);
  });
});
