import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../src/core/logger.js';
import { silentLogger } from '../src/core/logger.js';
import { Secret } from '../src/core/redact.js';
import type { BatchToLoad, TableSpec } from '../src/core/warehouse.js';
import { REJECT } from '../src/warehouse/reject-reasons.js';
import type { OpenPool } from '../src/warehouse/sqlserver/connection.js';
import type { BulkColumn, TdsExec } from '../src/warehouse/sqlserver/exec.js';
import { recordVersionsSql } from '../src/warehouse/sqlserver/ledger-sql.js';
import { loadGroup } from '../src/warehouse/sqlserver/load-group.js';
import { classifySql, createTableSql, mergeSql, stageRowsSql } from '../src/warehouse/sqlserver/load-sql.js';
import { MssqlSession } from '../src/warehouse/sqlserver/session.js';
import type { MssqlTarget } from '../src/warehouse/sqlserver/target.js';
import { nstr, qid } from '../src/warehouse/sqlserver/tsql.js';
import { tempDir } from './support/workspace.js';

/**
 * No SQL Server runs here: the statements the plug-in sends are read for what matters in them,
 * and their order through a connection that records what it is given and answers as a server
 * would (the live suite in warehouse-sqlserver.test.ts runs them against a real one).
 */
const events: TableSpec = { source: 'gh', stream: 'events', mode: 'cursor', primaryKey: ['id'] };
const pairs: TableSpec = { source: 'api', stream: 'pairs', mode: 'window', primaryKey: ['org', "n]u'm"] };
const agents: TableSpec = { source: 'calls', stream: 'agents', mode: 'full', primaryKey: ['id'] };

interface Sent {
  sql: string;
  rows?: unknown[][];
}

/** A connection that records every statement and bulk load; `answer` gives a query's rows. */
class RecordingConnection {
  readonly sent: Sent[] = [];
  answer: (sql: string) => unknown[] = (sql) => (/sp_getapplock/.test(sql) ? [{ r: 0 }] : []);
  failOn: RegExp | undefined;

  readonly exec: TdsExec = {
    query: async <T>(sql: string) => {
      this.sent.push({ sql });
      if (this.failOn?.test(sql)) throw Object.assign(new Error('Violation of PRIMARY KEY constraint'), { number: 2627 });
      return this.answer(sql) as T[];
    },
    bulk: async (table: string, columns: readonly BulkColumn[], rows: unknown[][]) => {
      this.sent.push({ sql: `BULK ${table} (${columns.map((c) => c.name).join(', ')})`, rows });
    },
  };

  async transaction<T>(work: (tx: TdsExec) => Promise<T>): Promise<T> {
    this.sent.push({ sql: 'BEGIN TRANSACTION' });
    try {
      const out = await work(this.exec);
      this.sent.push({ sql: 'COMMIT' });
      return out;
    } catch (error) {
      this.sent.push({ sql: 'ROLLBACK' });
      throw error;
    }
  }

  query = <T>(sql: string) => this.exec.query<T>(sql);
  bulk = (table: string, columns: readonly BulkColumn[], rows: unknown[][]) => this.exec.bulk(table, columns, rows);
  /** The first words of each statement, to read the order. */
  get steps(): string[] {
    return this.sent.map((s) => s.sql.replace(/\s+/g, ' ').slice(0, 80));
  }
}

describe('SQL Server load statements', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('mssql-load');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  let made = 0;
  function batch(t: TableSpec, lines: Array<string | Buffer>, o: { checksum?: string } = {}): BatchToLoad {
    made++;
    const file = path.join(dir, `b${made}.jsonl.gz`);
    fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(lines.flatMap((l) => [Buffer.from(l), Buffer.from('\n')]))));
    return {
      key: `${t.source}/${t.stream}/dt=2026-01-01/hr=10/p${made}.jsonl.gz`,
      version: `v${made}`,
      size: 10,
      checksum: o.checksum ?? `sum${made}`,
      partitionMs: Date.UTC(2026, 0, 1, 10),
      file,
    };
  }

  it('names: brackets with ] doubled, Unicode literals with N and quote doubled', () => {
    expect(qid('we]ird')).toBe('[we]]ird]');
    expect(nstr("it's 東京")).toBe("N'it''s 東京'");
    const create = createTableSql(pairs);
    expect(create).toMatch(/^IF OBJECT_ID\(N'\[raw\]\.\[api_pairs\]', N'U'\) IS NULL CREATE TABLE \[raw\]\.\[api_pairs\] \(/);
    expect(create).toContain("[org] NVARCHAR(450) COLLATE Latin1_General_100_BIN2 NOT NULL, [n]]u'm] NVARCHAR(450) COLLATE Latin1_General_100_BIN2 NOT NULL");
    expect(create).toContain('[data] NVARCHAR(MAX) NOT NULL CHECK (ISJSON([data]) = 1)');
    expect(create).toContain('[_sluice_partition] DATETIME2(0)');
    expect(create).toContain("PRIMARY KEY CLUSTERED ([org], [n]]u'm])");
  });

  it('one transaction: applock, table, ledger re-read under the lock, stage, bulk load, classify, merge, rejects, ledger, commit', async () => {
    const c = new RecordingConnection();
    const b1 = batch(events, ['{"id":"1"}', '', 'not json']);
    const b2 = batch(events, ['{"id":"2"}']);
    c.answer = (sql) => {
      if (/sp_getapplock/.test(sql)) return [{ r: 0 }];
      if (/^INSERT INTO \[sluice\]\.\[_loads\]/.test(sql))
        return [
          { batch_key: b2.key, rows: '1', rejected: '0' },
          { batch_key: b1.key, rows: 1, rejected: 1 },
        ];
      return [];
    };
    expect(await loadGroup(c, events, [b1, b2], 'run-7', silentLogger)).toEqual([
      { rows: 1, rejected: 1 },
      { rows: 1, rejected: 0 },
    ]);
    const steps = c.steps;
    const at = (re: RegExp) => {
      const i = steps.findIndex((s) => re.test(s));
      expect(i, `${re} in\n${steps.join('\n')}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = [
      /^BEGIN TRANSACTION$/,
      /^SET XACT_ABORT ON$/,
      /sp_getapplock/,
      /^IF OBJECT_ID\(N'\[raw\]\.\[gh_events\]'/,
      /^SELECT \[batch_key\], \[version\], \[checksum\] FROM \[sluice\]\.\[_loads\]/,
      /^CREATE TABLE #sluice_lines/,
      /^INSERT INTO #sluice_batches/,
      /^BULK #sluice_lines/,
      /^INSERT INTO #sluice_keys/,
      /^INSERT INTO #sluice_stage/,
      /^UPDATE r SET/,
      /^INSERT INTO \[raw\]\.\[gh_events\]/,
      /^DELETE FROM \[sluice\]\.\[_rejects\]/,
      /^INSERT INTO \[sluice\]\.\[_rejects\]/,
      /^DELETE FROM \[sluice\]\.\[_loads\]/,
      /^INSERT INTO \[sluice\]\.\[_loads\]/,
      /^COMMIT$/,
    ].map(at);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const sent = (re: RegExp) => c.sent.find((s) => re.test(s.sql))?.sql ?? '';
    expect(sent(/sp_getapplock/)).toContain("@Resource = N'sluice:[raw].[gh_events]', @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 0");
    expect(sent(/FROM \[sluice\]\.\[_loads\] WHERE/)).toContain(`WHERE [batch_key] IN (N'${b1.key}', N'${b2.key}')`);
    expect(sent(/^INSERT INTO #sluice_batches/)).toContain(
      `(0, N'${b1.key}', N'v${made - 1}', N'sum${made - 1}', 10, CAST('2026-01-01T10:00:00' AS DATETIME2(0)))`,
    );
    expect(sent(/^INSERT INTO \[sluice\]\.\[_rejects\]/)).toContain("N'run-7'");
    const ledger = sent(/^INSERT INTO \[sluice\]\.\[_loads\]/);
    expect(ledger).toContain("N'gh', N'events', t.version, t.checksum, t.size");
    expect(ledger).toContain('OUTPUT inserted.[batch_key]');
  });

  it('the bulk load carries each line with its number; blank lines are not sent; bad UTF-8 and non-objects are noted', async () => {
    const c = new RecordingConnection();
    const badUtf8 = Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    const b = batch(events, ['{"id":"1"}', '', '[1,2]', badUtf8, ' \t{"id":"5"}', '42', '{"id": broken', ' \t ']);
    await loadGroup(c, events, [b], 'run-1', silentLogger);
    const bulks = c.sent.filter((s) => s.sql.startsWith('BULK'));
    expect(bulks.map((s) => s.sql)).toEqual(['BULK #sluice_lines (b, n, line, note)']);
    expect(bulks[0]?.rows).toEqual([
      [0, 1, '{"id":"1"}', null],
      [0, 3, '[1,2]', REJECT.notObject],
      [0, 4, '{"id":"\uFFFD"}', REJECT.notUtf8],
      [0, 5, ' \t{"id":"5"}', null],
      [0, 6, '42', REJECT.notObject],
      [0, 7, '{"id": broken', null], // SQL Server's ISJSON judges it
    ]);
  });

  it('a large batch goes in several bulk loads, its lines in order: memory stays flat', async () => {
    const c = new RecordingConnection();
    const lines = Array.from({ length: 12_001 }, (_, i) => JSON.stringify({ id: String(i + 1) }));
    await loadGroup(c, events, [batch(events, lines)], 'run-1', silentLogger);
    const bulks = c.sent.filter((s) => s.sql.startsWith('BULK'));
    expect(bulks.length).toBeGreaterThanOrEqual(3);
    expect(bulks.every((s) => (s.rows?.length ?? 0) <= 5_000)).toBe(true);
    expect(bulks.flatMap((s) => s.rows ?? []).map((r) => r[1])).toEqual(lines.map((_, i) => i + 1));
  });

  it('what the ledger holds with the same checksum under the lock is skipped: nothing is staged or written', async () => {
    const c = new RecordingConnection();
    const b = batch(events, ['{"id":"1"}'], { checksum: 'same' });
    c.answer = (sql) =>
      /sp_getapplock/.test(sql) ? [{ r: 0 }] : /FROM \[sluice\]\.\[_loads\]/.test(sql) ? [{ batch_key: b.key, version: 'old', checksum: 'same' }] : [];
    expect(await loadGroup(c, events, [b], 'run-2', silentLogger)).toEqual([{ rows: 0, rejected: 0, skipped: true }]);
    expect(c.steps.map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual([
      'BEGIN TRANSACTION',
      'SET XACT_ABORT',
      'DECLARE @r',
      "IF OBJECT_ID(N'[raw].[gh_events]',",
      'SELECT [batch_key],',
      'COMMIT',
    ]);
  });

  it('a load the lock keeps waiting logs it and waits up to an hour; a failure rolls back and writes no ledger row', async () => {
    const c = new RecordingConnection();
    const said: string[] = [];
    const log = { ...silentLogger, info: (_o: unknown, msg: string) => said.push(msg), child: () => log } as unknown as Logger;
    let tries = 0;
    c.answer = (sql) => (/sp_getapplock/.test(sql) ? [{ r: tries++ === 0 ? -1 : 1 }] : []);
    c.failOn = /^UPDATE r SET/;
    await expect(loadGroup(c, events, [batch(events, ['{"id":"1"}'])], 'run-3', log)).rejects.toMatchObject({ number: 2627 });
    expect(said).toContain('load.lock.waiting');
    expect(c.sent.filter((s) => /sp_getapplock/.test(s.sql)).map((s) => /@LockTimeout = (\d+)/.exec(s.sql)?.[1])).toEqual(['0', '3600000']);
    expect(c.steps.at(-1)).toBe('ROLLBACK');
    expect(c.sent.some((s) => /INTO \[sluice\]\.\[_loads\]/.test(s.sql))).toBe(false);
  });

  it('a full stream empties its table and inserts the snapshot; window and cursor streams update, then insert the keys not there', async () => {
    const [emptyFirst, insertAll] = mergeSql(agents);
    expect(mergeSql(agents)).toHaveLength(2);
    expect(emptyFirst).toBe('DELETE FROM [raw].[calls_agents]');
    expect(insertAll).toMatch(/^INSERT INTO \[raw\]\.\[calls_agents\] \(\[id\], \[data\], \[_sluice_partition\], \[_sluice_batch\], \[_sluice_loaded_at\]\)/);
    const [update, insert] = mergeSql(pairs);
    expect(update).toContain("FROM [raw].[api_pairs] AS r WITH (UPDLOCK, SERIALIZABLE) JOIN #sluice_stage AS s ON r.[org] = s.k0 AND r.[n]]u'm] = s.k1");
    expect(update).toContain('r.[data] = l.line, r.[_sluice_partition] = t.partition_at, r.[_sluice_batch] = t.batch_key');
    expect(insert).toContain("WHERE NOT EXISTS (SELECT 1 FROM [raw].[api_pairs] AS r WITH (UPDLOCK, SERIALIZABLE) WHERE r.[org] = s.k0 AND r.[n]]u'm] = s.k1)");
    // A key twice in the group: its last line wins (latest batch, then latest line).
    expect(stageRowsSql(pairs)).toContain('ROW_NUMBER() OVER (PARTITION BY k0, k1 ORDER BY b DESC, n DESC) AS _last FROM #sluice_keys WHERE reason IS NULL');
  });

  it('the rejects split: JavaScript notes first, then not JSON, each missing key in order, a key too long for the index, a key ending in a space', () => {
    const sql = classifySql(pairs);
    expect(sql).toContain(`OPENJSON(CASE WHEN j.ok = 1 THEN l.line END) WITH (k0 NVARCHAR(MAX) N'$."org"', k1 NVARCHAR(MAX) N'$."n]u''m"')`);
    expect(sql).toContain('CROSS APPLY (SELECT CASE WHEN l.note IS NULL THEN ISJSON(l.line) END AS ok)');
    const reasons = [...sql.matchAll(/WHEN (.+?) THEN (N'(?:[^']|'')*'|l\.note)/g)].map((m) => [m[1], m[2]]);
    expect(reasons).toEqual([
      ['l.note IS NOT NULL', 'l.note'],
      ['j.ok = 0', nstr(REJECT.notObject)],
      ['k.k0 IS NULL', nstr(REJECT.missingKey('org'))],
      ['k.k1 IS NULL', nstr(REJECT.missingKey("n]u'm"))],
      ['DATALENGTH(k.k0) + DATALENGTH(k.k1) > 900', nstr("key longer than 450 characters: org + n]u'm")],
      ['UNICODE(RIGHT(k.k0, 1)) = 32', nstr('key ends with a space: org')],
      ['UNICODE(RIGHT(k.k1, 1)) = 32', nstr("key ends with a space: n]u'm")],
    ]);
    // A JSON path quotes the field name as JSON does.
    expect(classifySql({ ...events, primaryKey: ['a"b'] })).toContain(`N'$."a\\"b"'`);
  });

  it('recordVersions updates only version and checksum, guarded by the checksum, in slices of 1,000', () => {
    const batches = Array.from({ length: 1001 }, (_, i) => ({ key: `k${i}`, version: `v'${i}`, checksum: `c${i}` }));
    const sql = recordVersionsSql('gh', 'events', batches);
    expect(sql).toHaveLength(2);
    expect(sql[0]).toMatch(
      /^UPDATE l SET l\.\[version\] = s\.v, l\.\[checksum\] = s\.c FROM \[sluice\]\.\[_loads\] AS l JOIN \(VALUES \(N'k0', N'v''0', N'c0'\)/,
    );
    expect(sql[0]).toContain("WHERE l.[source] = N'gh' AND l.[stream] = N'events' AND (l.[checksum] = s.c OR (l.[checksum] IS NULL AND l.[version] = s.v))");
  });
});

describe('SQL Server session: what is retried', () => {
  const target = {
    host: 'h',
    port: 1433,
    database: 'd',
    user: 'u',
    password: new Secret('pw-x'),
    encrypt: true,
    trustServerCertificate: false,
    where: 'h:1433/d',
    credentialsAt: 'warehouse.url',
  } as MssqlTarget;
  const pool = (): OpenPool => ({
    query: async () => [],
    bulk: async () => {},
    transaction: async (w) => w({ query: async () => [], bulk: async () => {} }),
    close: async () => {},
  });

  it('a lost connection opens a new one and runs the work again; a deadlock victim runs again a bounded number of times', async () => {
    let opened = 0;
    const session = new MssqlSession(target, silentLogger, async () => {
      opened++;
      return pool();
    });
    let calls = 0;
    expect(
      await session.run('a load', async () => {
        if (++calls === 1) throw Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ESOCKET' });
        return 'done';
      }),
    ).toBe('done');
    expect(opened).toBe(2);

    let deadlocks = 0;
    const victim = () => Object.assign(new Error('Transaction was deadlocked'), { number: 1205 });
    expect(await session.run('a load', async () => (++deadlocks < 3 ? Promise.reject(victim()) : 'ok'))).toBe('ok');
    deadlocks = 0;
    await expect(
      session.run('a load', async () => {
        deadlocks++;
        throw victim();
      }),
    ).rejects.toMatchObject({ number: 1205 });
    expect(deadlocks).toBe(5);
  });

  it('any other error stops at once', async () => {
    let opened = 0;
    let calls = 0;
    const session = new MssqlSession(target, silentLogger, async () => {
      opened++;
      return pool();
    });
    await expect(
      session.run('a load', async () => {
        calls++;
        throw Object.assign(new Error("Cannot insert duplicate key in object 'raw.x'"), { number: 2627 });
      }),
    ).rejects.toMatchObject({ number: 2627 });
    expect([opened, calls]).toEqual([1, 1]);
  });
});
