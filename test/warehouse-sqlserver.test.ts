import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { BUNDLED_DIR } from '../src/transform/bundled.js';
import { runTransform } from '../src/transform/engine.js';
import { loadTransformProject } from '../src/transform/models.js';
import { sqlserverConfigSchema } from '../src/warehouse/sqlserver/config.js';
import type { MssqlTarget } from '../src/warehouse/sqlserver/target.js';
import { SqlServerWarehouse } from '../src/warehouse/sqlserver/warehouse.js';
import { readGithubFixture } from './support/transform.js';
import { tempDir } from './support/workspace.js';
import { type LoadRow, type RawRow, type RejectRow, warehouseContract } from './warehouse-contract.js';

/**
 * SQL Server cannot run here: these suites run against a live server when
 * SLUICE_TEST_SQLSERVER_URL names one (a login allowed to create databases, e.g. `sa` of the
 * mcr.microsoft.com/mssql/server container: see CONTRIBUTING.md), and are skipped with one line
 * otherwise. Each test gets a database of its own, dropped after it.
 */
const URL = process.env.SLUICE_TEST_SQLSERVER_URL;
if (!URL) {
  console.log(
    'skipped: the live SQL Server suites — set SLUICE_TEST_SQLSERVER_URL=mssql://sa:<password>@127.0.0.1:1433/master?encrypt=false to run them (CONTRIBUTING.md)',
  );
}

const server = (): MssqlTarget => sqlserverConfigSchema.parse({ type: 'sqlserver', url: URL });
const qid = (name: string) => `[${name.replace(/]/g, ']]')}]`;
let databases = 0;

/** A fresh database on the server, with a pool for reads that go around the plug-in. */
async function freshDatabase(): Promise<{ target: MssqlTarget; q: <T>(text: string) => Promise<T[]>; dispose(): Promise<void> }> {
  const base = server();
  const name = `sluice_test_${process.pid}_${++databases}`;
  const admin = await pool(base);
  await admin.request().query(`CREATE DATABASE ${qid(name)}`);
  const target: MssqlTarget = { ...base, database: name, where: `${base.host}:${base.port}/${name}` };
  const reader = await pool(target);
  return {
    target,
    q: async <T>(text: string) => (await reader.request().query(text)).recordset as unknown as T[],
    async dispose() {
      await reader.close();
      await admin.request().query(`ALTER DATABASE ${qid(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${qid(name)}`);
      await admin.close();
    },
  };
}

function pool(t: MssqlTarget): Promise<sql.ConnectionPool> {
  return new sql.ConnectionPool({
    server: t.host,
    port: t.port,
    database: t.database,
    user: t.user,
    password: t.password.reveal(),
    options: { encrypt: t.encrypt, trustServerCertificate: t.trustServerCertificate },
  }).connect();
}

const contractDb: Parameters<typeof warehouseContract>[1] = async () => {
  const db = await freshDatabase();
  const exists = async (table: string) =>
    (await db.q<{ ok: number }>(`SELECT CASE WHEN OBJECT_ID(N'[raw].${qid(table).replace(/'/g, "''")}', N'U') IS NULL THEN 0 ELSE 1 END AS ok`))[0]?.ok === 1;
  return {
    open: () => SqlServerWarehouse.open(db.target, silentLogger),
    async rows(table, keys) {
      if (!(await exists(table))) return undefined;
      const found = await db.q<Record<string, unknown>>(
        `SELECT ${keys.map(qid).join(', ')}, [data], [_sluice_batch], CONVERT(VARCHAR(19), [_sluice_partition], 120) AS p FROM [raw].${qid(table)}`,
      );
      return found
        .map((r): RawRow => ({ keys: keys.map((k) => String(r[k])), data: JSON.parse(String(r.data)), batch: String(r._sluice_batch), partition: String(r.p) }))
        .sort((a, b) => a.keys.join('\u0000').localeCompare(b.keys.join('\u0000')));
    },
    rejects: () =>
      db.q<RejectRow>(
        'SELECT batch_key, CAST(line_number AS INT) AS line_number, reason, line, run_id FROM [sluice].[_rejects] ORDER BY batch_key, line_number',
      ),
    loads: () =>
      db.q<LoadRow>(
        'SELECT batch_key, source, stream, version, checksum, CAST(size AS INT) AS size, CAST([rows] AS INT) AS [rows], CAST(rejected AS INT) AS rejected, run_id, CONVERT(VARCHAR(40), loaded_at, 127) AS loaded_at FROM [sluice].[_loads] ORDER BY batch_key',
      ),
    async loadTimes(table) {
      if (!(await exists(table))) return [];
      return (await db.q<{ t: string }>(`SELECT CONVERT(VARCHAR(40), [_sluice_loaded_at], 127) AS t FROM [raw].${qid(table)} ORDER BY t`)).map((r) => r.t);
    },
    dispose: () => db.dispose(),
  };
};

describe.skipIf(!URL)('SQL Server (live)', () => warehouseContract('SQL Server', contractDb));

describe.skipIf(!URL)('SQL Server (live): keys, concurrent loads, the bundled models', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase();
    dir = tempDir('mssql-live');
  });
  afterAll(async () => {
    await db?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let made = 0;
  const batch = (lines: string[]) => {
    const file = path.join(dir, `b${++made}.jsonl.gz`);
    fs.writeFileSync(file, zlib.gzipSync(`${lines.join('\n')}\n`));
    const hourMs = Date.UTC(2026, 0, 1, made % 24);
    const hour = new Date(hourMs).toISOString();
    return {
      key: `github/events/dt=${hour.slice(0, 10)}/hr=${hour.slice(11, 13)}/r${made}.jsonl.gz`,
      version: 'v1',
      size: fs.statSync(file).size,
      checksum: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
      partitionMs: hourMs,
      file,
    };
  };
  const events = { source: 'github', stream: 'events', mode: 'cursor' as const, primaryKey: ['id'] };

  it('keys differ by case, too-long keys and keys ending in a space are rejects, two loads of one group load it once', async () => {
    const a = await SqlServerWarehouse.open(db.target, silentLogger);
    const b = await SqlServerWarehouse.open(db.target, silentLogger);
    try {
      const odd = batch([JSON.stringify({ id: 'abc' }), JSON.stringify({ id: 'ABC' }), JSON.stringify({ id: 'x'.repeat(451) }), JSON.stringify({ id: 'sp ' })]);
      expect(await a.load({ ...events, stream: 'odd' }, [{ ...odd, key: odd.key.replace('events', 'odd') }], 'run-0')).toEqual([{ rows: 2, rejected: 2 }]);
      const reasons = await db.q<{ reason: string }>('SELECT reason FROM [sluice].[_rejects] ORDER BY line_number');
      expect(reasons.map((r) => r.reason)).toEqual(['key longer than 450 characters: id', 'key ends with a space: id']);

      const group = Array.from({ length: 8 }, (_, i) => batch(Array.from({ length: 300 }, (_, j) => JSON.stringify({ id: `${i}-${j}` }))));
      const [x, y] = await Promise.all([a.load(events, group, 'run-a'), b.load(events, group, 'run-b')]);
      expect(group.map((_, i) => (x[i]?.skipped ? 0 : 1) + (y[i]?.skipped ? 0 : 1))).toEqual(group.map(() => 1));
      const [n] = await db.q<{ n: number; l: number }>('SELECT COUNT(*) AS n, (SELECT COUNT(*) FROM [sluice].[_loads]) AS l FROM [raw].[github_events]');
      expect(n).toEqual({ n: 2400, l: 9 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('the bundled GitHub models build over real events and pass their tests', async () => {
    const wh = await SqlServerWarehouse.open(db.target, silentLogger);
    const target = await (wh.sqlTarget as () => ReturnType<NonNullable<typeof wh.sqlTarget>>)();
    try {
      const fixture = readGithubFixture();
      await wh.load({ ...events, stream: 'events' }, [batch(fixture.map((e) => JSON.stringify(e)))], 'run-m');
      const project = loadTransformProject(path.join(BUNDLED_DIR, 'github'));
      for (let run = 1; run <= 2; run++) {
        const result = await runTransform(target, project);
        expect(
          result.models.every((m) => m.status === 'built'),
          JSON.stringify(result.models),
        ).toBe(true);
        expect(result.tests.filter((t) => t.status === 'fail' || t.status === 'error')).toEqual([]);
      }
      const [staged] = await target.all('SELECT COUNT(*) AS n FROM analytics.stg_github__events');
      expect(Number(staged?.n)).toBeGreaterThan(0);
    } finally {
      await target.close();
      await wh.close();
    }
  });
});
