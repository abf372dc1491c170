import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { Secret } from '../src/core/redact.js';
import type { BatchToLoad, TableSpec, Warehouse } from '../src/core/warehouse.js';
import { lockKey } from '../src/warehouse/postgres/load-group.js';
import { PostgresWarehouse } from '../src/warehouse/postgres/warehouse.js';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';
import { freePort } from './support/serve.js';
import { tempDir } from './support/workspace.js';
import { type LoadRow, type RawRow, type RejectRow, warehouseContract } from './warehouse-contract.js';

let server: PgServer | undefined;
let databases = 0;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(() => stopPostgres(server));

const qi = (name: string) => `"${name.replace(/"/g, '""')}"`;
const open = (url: string) => PostgresWarehouse.open({ type: 'postgres', url: new Secret(url) }, silentLogger);

const contractDb: Parameters<typeof warehouseContract>[1] = async () => {
  const pgs = server as PgServer;
  const name = `contract_${++databases}`;
  const url = await pgs.database(name);
  const q = <T>(sql: string) => pgs.query<T>(sql, [], name);
  return {
    open: () => open(url),
    async rows(table, keys) {
      const [exists] = await q<{ ok: boolean }>(`SELECT to_regclass('raw.${qi(table)}') IS NOT NULL AS ok`);
      if (!exists?.ok) return undefined;
      const found = await q<Record<string, unknown>>(
        `SELECT ${keys.map(qi).join(', ')}, data, _sluice_batch, to_char(_sluice_partition, 'YYYY-MM-DD HH24:MI:SS') AS p FROM raw.${qi(table)}`,
      );
      return found
        .map((r): RawRow => ({ keys: keys.map((k) => String(r[k])), data: r.data, batch: String(r._sluice_batch), partition: String(r.p) }))
        .sort((a, b) => a.keys.join('\u0000').localeCompare(b.keys.join('\u0000')));
    },
    rejects: () => q<RejectRow>('SELECT batch_key, line_number::int AS line_number, reason, line, run_id FROM sluice._rejects ORDER BY batch_key, line_number'),
    loads: () =>
      q<LoadRow>(
        'SELECT batch_key, source, stream, version, checksum, size::int AS size, rows::int AS rows, rejected::int AS rejected, run_id, loaded_at::text AS loaded_at FROM sluice._loads ORDER BY batch_key',
      ),
    async loadTimes(table) {
      const [exists] = await q<{ ok: boolean }>(`SELECT to_regclass('raw.${qi(table)}') IS NOT NULL AS ok`);
      if (!exists?.ok) return [];
      return (await q<{ t: string }>(`SELECT _sluice_loaded_at::text AS t FROM raw.${qi(table)} ORDER BY t`)).map((r) => r.t);
    },
    async dispose() {},
  };
};
describe.skipIf(lacks('postgresql'))('PostgreSQL', () => warehouseContract('PostgreSQL', contractDb));

describe.skipIf(lacks('postgresql'))('PostgreSQL warehouse: types, locks, connections', () => {
  const spec: TableSpec = { source: 'gh', stream: 'events', mode: 'cursor', primaryKey: ['id'] };
  let dir: string;
  let db: string;
  let url: string;
  const opened: Warehouse[] = [];
  beforeEach(async () => {
    dir = tempDir('wh-pg');
    db = `pg_${++databases}`;
    url = await (server as PgServer).database(db);
  });
  afterEach(async () => {
    for (const w of opened.splice(0)) await w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (server as PgServer).query<T>(sql, params, db);
  const warehouse = async () => {
    const w = await open(url);
    opened.push(w);
    return w;
  };
  /** `n` batches of `perBatch` distinct ids each, one hour apart, numbered from `first`. */
  function batches(n: number, perBatch: number, first = 0): BatchToLoad[] {
    return Array.from({ length: n }, (_, k) => {
      const i = first + k;
      const file = path.join(dir, `b${i}.jsonl.gz`);
      const lines = Array.from({ length: perBatch }, (_, j) => JSON.stringify({ id: `${i}-${j}`, batch: i }));
      fs.writeFileSync(file, zlib.gzipSync(`${lines.join('\n')}\n`));
      const hourMs = Date.UTC(2026, 0, 1, i);
      const hour = new Date(hourMs).toISOString();
      return {
        key: `gh/events/dt=${hour.slice(0, 10)}/hr=${hour.slice(11, 13)}/r${i}.jsonl.gz`,
        version: 'v1',
        size: fs.statSync(file).size,
        checksum: `sum-${i}`,
        partitionMs: hourMs,
        file,
      };
    });
  }
  /** The backend of a warehouse's connection that waits for an advisory lock, once it does. */
  async function waitingOnLock(): Promise<number> {
    for (;;) {
      const [row] = await q<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'", [
        db,
      ]);
      if (row) return row.pid;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('stores data as jsonb and keys as text', async () => {
    const w = await warehouse();
    await w.load(spec, batches(1, 3), 'run-1');
    const types = await q<{ column_name: string; data_type: string }>(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'gh_events' ORDER BY ordinal_position",
    );
    expect(types.map((t) => [t.column_name, t.data_type])).toEqual([
      ['id', 'text'],
      ['data', 'jsonb'],
      ['_sluice_partition', 'timestamp without time zone'],
      ['_sluice_batch', 'text'],
      ['_sluice_loaded_at', 'timestamp with time zone'],
    ]);
  });

  it('a second load of the same group waits for the table lock, then skips what the first committed', async () => {
    const [a, b] = [await warehouse(), await warehouse()];
    const group = batches(6, 500);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey('raw."gh_events"')]);
      const first = a.load(spec, group, 'run-a');
      await waitingOnLock();
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey('raw."gh_events"')]);
      expect(await first).toEqual(group.map(() => ({ rows: 500, rejected: 0 })));
    } finally {
      await holder.end();
    }
    expect(await b.load(spec, group, 'run-b')).toEqual(group.map(() => ({ rows: 0, rejected: 0, skipped: true })));
    const mixed = await b.load(spec, [...group.slice(0, 2), ...batches(1, 10, 100)], 'run-b2');
    expect(mixed.map((r) => r.skipped ?? false)).toEqual([true, true, false]);
    const [count] = await q<{ n: number; d: number }>('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM raw.gh_events');
    expect(count).toEqual({ n: 3010, d: 3010 });
    const ledger = await q<{ batch_key: string; run_id: string }>('SELECT batch_key, run_id FROM sluice._loads ORDER BY batch_key');
    expect(ledger).toHaveLength(7);
    expect(ledger.filter((l) => l.run_id === 'run-a')).toHaveLength(6);
  });

  it('two loads of one group at the same moment load each batch once', async () => {
    const [a, b] = [await warehouse(), await warehouse()];
    const group = batches(12, 400);
    const [x, y] = await Promise.all([a.load(spec, group, 'run-a'), b.load(spec, group, 'run-b')]);
    const loadedBy = group.map((_, i) => (x[i]?.skipped ? 0 : 1) + (y[i]?.skipped ? 0 : 1));
    expect(loadedBy).toEqual(group.map(() => 1));
    const [count] = await q<{ n: number; d: number; l: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, (SELECT count(*)::int FROM sluice._loads) AS l FROM raw.gh_events',
    );
    expect(count).toEqual({ n: 4800, d: 4800, l: 12 });
  });

  it('a connection cut in the middle of a load is replaced and the load completes once', async () => {
    const w = await warehouse();
    const group = batches(4, 300);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey('raw."gh_events"')]);
      const loading = w.load(spec, group, 'run-1');
      const pid = await waitingOnLock();
      await holder.query('SELECT pg_terminate_backend($1)', [pid]);
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey('raw."gh_events"')]);
      expect(await loading).toEqual(group.map(() => ({ rows: 300, rejected: 0 })));
    } finally {
      await holder.end();
    }
    const [count] = await q<{ n: number; l: number }>('SELECT count(*)::int AS n, (SELECT count(*)::int FROM sluice._loads) AS l FROM raw.gh_events');
    expect(count).toEqual({ n: 1200, l: 4 });
  });

  it('a ledger from before checksums gets the column on open; its rows compare by version until their checksum is filled', async () => {
    await q(`CREATE SCHEMA sluice; CREATE TABLE sluice._loads (
      batch_key text PRIMARY KEY, source text NOT NULL, stream text NOT NULL, version text, size bigint,
      rows bigint NOT NULL, rejected bigint NOT NULL, run_id text, loaded_at timestamptz NOT NULL)`);
    const [b] = batches(1, 5);
    await q("INSERT INTO sluice._loads VALUES ($1, 'gh', 'events', 'v1', $2, 5, 0, 'old-run', now())", [b!.key, b!.size]);
    const w = await warehouse();
    expect((await w.ledger('gh', 'events')).get(b!.key)).toEqual({ key: b!.key, version: 'v1', size: b!.size, checksum: undefined });
    expect(await w.load(spec, [b!], 'run-1')).toEqual([{ rows: 0, rejected: 0, skipped: true }]);
    expect(await w.load(spec, [{ ...b!, version: 'v2' }], 'run-2')).toEqual([{ rows: 5, rejected: 0 }]);
    expect((await w.ledger('gh', 'events')).get(b!.key)).toMatchObject({ version: 'v2', checksum: b!.checksum });

    // A second process opening while a load holds the ledger does not wait for it: the column is there.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("UPDATE sluice._loads SET run_id = 'held'");
      await (await warehouse()).ledger('gh', 'events');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
  });

  it('a wrong password or a closed port is warehouse_unreachable with a hint, and the password is never in the message', async () => {
    const pgs = server as PgServer;
    const wrong = pgs.url(db, 'not-the-pw-8812');
    const refused = await open(wrong).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'SluiceError', code: 'warehouse_unreachable', fatal: true, hint: expect.stringMatching(/password/) });
    expect(`${(refused as Error).message} ${(refused as { hint: string }).hint}`).not.toContain('not-the-pw-8812');
    const closed = await open(`postgres://postgres:pw-5501@127.0.0.1:${await freePort()}/x`).catch((e: unknown) => e);
    expect(closed).toMatchObject({
      code: 'warehouse_unreachable',
      message: expect.stringMatching(/connection refused/),
      hint: expect.stringMatching(/start PostgreSQL/),
    });
    expect(`${(closed as Error).message}`).not.toContain('pw-5501');
  });
});
