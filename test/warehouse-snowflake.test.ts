import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import type { BatchToLoad, TableSpec } from '../src/core/warehouse.js';
import { loadStream } from '../src/pipeline/load.js';
import type { Project } from '../src/pipeline/project.js';
import { emptyReport } from '../src/pipeline/run-record.js';
import { LocalStore } from '../src/storage/local/index.js';
import type { SnowflakeClient, SnowflakeWarehouseConfig } from '../src/warehouse/snowflake/connection.js';
import { applySql, clearSql, copySql, countsSql, lenientCopySql, parseSql } from '../src/warehouse/snowflake/load-sql.js';
import { columnsSql, lockSql, recheckSql, recordVersionsSql, SETUP_SQL, sfIdent, sfString, tableSql } from '../src/warehouse/snowflake/sql.js';
import { SnowflakeWarehouse } from '../src/warehouse/snowflake/warehouse.js';
import { tempDir } from './support/workspace.js';

/**
 * No Snowflake service can run here, so the SQL sluice sends is checked for what matters in it,
 * and the warehouse's statement order through a client that records what it is given.
 */
const scores: TableSpec = { source: 'calls', stream: 'scores', mode: 'full', primaryKey: ['_parent_id', '$insert_id'] };
const events: TableSpec = { source: 'amp', stream: 'events', mode: 'window', primaryKey: ['uuid'] };
const cased: TableSpec = { source: 'api', stream: 'things', mode: 'cursor', primaryKey: ['id', 'ID'] };
const batch = (key: string, version: string, size: number, hour: number): BatchToLoad => ({
  key,
  version,
  size,
  checksum: `sum-of-${version}`,
  partitionMs: Date.UTC(2026, 0, 1, hour),
});
const twoBatches = [batch('calls/scores/dt=2026-01-01/hr=10/r1.jsonl.gz', 'e1', 120, 10), batch("calls/scores/dt=2026-01-01/hr=11/o'k.jsonl.gz", 'e2', 20, 11)];
const where = { schema: 'sluice', stage: 'sluice_stage' };
const config: SnowflakeWarehouseConfig = {
  type: 'snowflake',
  account: 'xy12345',
  user: 'LOADER',
  database: 'analytics',
  schema: 'sluice',
  warehouse: 'load_wh',
  stage: 'sluice_stage',
};
/** The file format options given inline to a COPY. */
const formatOf = (sql: string) => /FILE_FORMAT = \(([^)]*)\)/.exec(sql)?.[1] ?? '';

describe('Snowflake SQL', () => {
  it('names: plain names upper-cased and quoted (as Snowflake stores unquoted ones), others kept exactly; literals escaped', () => {
    expect(sfIdent('github_events')).toBe('"GITHUB_EVENTS"');
    expect(sfIdent('$insert_id')).toBe('"$insert_id"');
    expect(sfIdent('we"ird')).toBe('"we""ird"');
    expect(sfString("it's a \\ path")).toBe("'it''s a \\\\ path'");
  });

  it('key columns keep their exact spelling, so `id` and `ID` are two columns in every statement that names them', () => {
    const [create] = tableSql(cased);
    expect(create).toContain('"RAW"."API_THINGS" ("id" VARCHAR NOT NULL, "ID" VARCHAR NOT NULL, "DATA" VARIANT');
    expect(create).toContain('PRIMARY KEY ("id", "ID")');
    const parse = parseSql(cased, [batch('api/things/dt=2026-01-01/hr=10/r1.jsonl.gz', 'e1', 99, 10)]);
    expect(parse).toContain(`GET(V, 'id')::VARCHAR, NULL) AS "K0"`);
    expect(parse).toContain(`GET(V, 'ID')::VARCHAR, NULL) AS "K1"`);
    const merge = applySql(cased, [batch('api/things/dt=2026-01-01/hr=10/r1.jsonl.gz', 'e1', 99, 10)], new Map(), 'run-1').find((s) =>
      s.startsWith('MERGE INTO "RAW"'),
    );
    expect(merge).toContain('ON T."id" = S."K0" AND T."ID" = S."K1" WHEN MATCHED');
    expect(merge).toContain('INSERT ("id", "ID", "DATA"');
    expect(merge).toContain('PARTITION BY "K0", "K1"');
    // Plain names sluice chooses are still upper-cased: raw.api_things and data work unquoted.
    expect(tableSql({ ...cased, primaryKey: ['uuid'] })[0]).toMatch(
      /^CREATE TABLE IF NOT EXISTS "RAW"\."API_THINGS" \("uuid" VARCHAR NOT NULL, "DATA" VARIANT/,
    );
  });

  it('a line that is not valid UTF-8 is never loaded as a row: strict read first, bad bytes shown only in a second read that marks them', () => {
    const strict = copySql(twoBatches, where);
    expect(strict).toMatch(
      /^COPY INTO "SLUICE"\."_SLUICE_LINES" \("LINE", "FILE_NAME", "LINE_NO"\) FROM \(SELECT \$1, METADATA\$FILENAME, METADATA\$FILE_ROW_NUMBER FROM @"SLUICE"\."SLUICE_STAGE"\)/,
    );
    expect(strict).toContain(`FILES = ('calls/scores/dt=2026-01-01/hr=10/r1.jsonl.gz', 'calls/scores/dt=2026-01-01/hr=11/o''k.jsonl.gz')`);
    expect(formatOf(strict)).toContain('REPLACE_INVALID_CHARACTERS = FALSE');
    expect(formatOf(strict)).toContain("ENCODING = 'UTF8'");
    expect(strict).toMatch(/ON_ERROR = CONTINUE$/); // the bad line is left out, its file's errors counted

    const [lenient = '', mark = ''] = lenientCopySql([twoBatches[1]!.key], where);
    expect(lenient).toMatch(/^COPY INTO "SLUICE"\."_SLUICE_LINES_LENIENT" \("LINE", "FILE_NAME", "LINE_NO"\)/);
    expect(lenient).toContain(`FILES = ('calls/scores/dt=2026-01-01/hr=11/o''k.jsonl.gz')`);
    expect(formatOf(lenient)).toContain('REPLACE_INVALID_CHARACTERS = TRUE');
    expect(lenient).toMatch(/ON_ERROR = ABORT_STATEMENT$/); // a line it cannot read either stops the group
    // Only the lines the strict read left out join the others, marked.
    expect(mark).toMatch(
      /^INSERT INTO "SLUICE"\."_SLUICE_LINES" \("LINE", "FILE_NAME", "LINE_NO", "NOT_UTF8"\) SELECT X\."LINE", X\."FILE_NAME", X\."LINE_NO", TRUE FROM "SLUICE"\."_SLUICE_LINES_LENIENT" X/,
    );
    expect(mark).toContain('WHERE NOT EXISTS (SELECT 1 FROM "SLUICE"."_SLUICE_LINES" L WHERE L."FILE_NAME" = X."FILE_NAME" AND L."LINE_NO" = X."LINE_NO")');

    // A marked line is a reject with the reason DuckDB and PostgreSQL give, before any other reason.
    const parse = parseSql(scores, twoBatches);
    expect(parse).toMatch(/CASE WHEN "NOT_UTF8" THEN 'not valid UTF-8' WHEN V IS NULL OR NOT IS_OBJECT\(V\) THEN 'not a JSON object'/);
    expect(parse).toContain('L."NOT_UTF8"');
    expect(tableSql(scores)[1]).toContain('"NOT_UTF8" BOOLEAN');
    expect(clearSql(scores)).toContain('DELETE FROM "SLUICE"."_SLUICE_LINES_LENIENT"');
  });

  it('the ledger keeps each batch checksum: the column (added to an old ledger), the re-check, the ledger rows', () => {
    expect(SETUP_SQL.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS "SLUICE"."_LOADS"'))).toContain('"CHECKSUM" VARCHAR');
    expect(SETUP_SQL).toContain('ALTER TABLE "SLUICE"."_LOADS" ADD COLUMN IF NOT EXISTS "CHECKSUM" VARCHAR');
    expect(recheckSql(["o'k"])).toBe(`SELECT "BATCH_KEY", "VERSION", "CHECKSUM" FROM "SLUICE"."_LOADS" WHERE "BATCH_KEY" IN ('o''k')`);
    const ledger = applySql(scores, twoBatches, new Map(), 'run-1').at(-1)!;
    expect(ledger).toMatch(/^MERGE INTO "SLUICE"\."_LOADS"/);
    expect(ledger).toContain(`('calls/scores/dt=2026-01-01/hr=10/r1.jsonl.gz', 'e1', 120, 0, 0, 'sum-of-e1')`);
    expect(ledger).toContain('COLUMN6 AS "CHECKSUM"');
    expect(ledger).toContain('"CHECKSUM" = S."CHECKSUM"');
    expect(ledger).toMatch(
      /INSERT \("BATCH_KEY", "SOURCE", "STREAM", "VERSION", "CHECKSUM",.*VALUES \(S\."BATCH_KEY", 'calls', 'scores', S\."VERSION", S\."CHECKSUM",/,
    );

    const [update, ...more] = recordVersionsSql('amp', 'events', [{ key: 'k', version: 'e9', checksum: 'c1' }]);
    expect(more).toEqual([]);
    expect(update).toMatch(/^UPDATE "SLUICE"\."_LOADS" L SET "VERSION" = S\."VERSION", "CHECKSUM" = S\."CHECKSUM" FROM/);
    expect(update).toContain(`VALUES ('k', 'e9', 'c1')`);
    expect(update).toContain(`L."SOURCE" = 'amp' AND L."STREAM" = 'events'`);
    expect(update).toContain('(L."CHECKSUM" = S."CHECKSUM" OR (L."CHECKSUM" IS NULL AND L."VERSION" = S."VERSION"))');
    expect(
      recordVersionsSql(
        'amp',
        'events',
        Array.from({ length: 2500 }, (_, i) => ({ key: `k${i}`, version: 'v', checksum: 'c' })),
      ),
    ).toHaveLength(3);
  });

  it('a full stream: table emptied, rejects replaced, MERGE on the composite key, in that order', () => {
    const sql = applySql(scores, twoBatches, new Map([[twoBatches[0]!.key, { rows: 3, rejected: 1 }]]), 'run-1');
    expect(sql.map((s) => s.split(' (')[0]!.split(' WHERE')[0])).toEqual([
      'DELETE FROM "RAW"."CALLS_SCORES"',
      'DELETE FROM "SLUICE"."_REJECTS"',
      'INSERT INTO "SLUICE"."_REJECTS"',
      'MERGE INTO "RAW"."CALLS_SCORES" T USING',
      'MERGE INTO "SLUICE"."_LOADS" T USING',
    ]);
    expect(sql[3]).toContain('ON T."_parent_id" = S."K0" AND T."$insert_id" = S."K1"');
    expect(sql[4]).toContain(`'e1', 120, 3, 1, 'sum-of-e1'`);
    expect(lockSql(events)).toMatch(/^MERGE INTO "SLUICE"\."_LOCKS" T USING \(SELECT '"RAW"\."AMP_EVENTS"' AS "TABLE_NAME"\)/);
    expect(countsSql(scores)).toContain('FROM "SLUICE"."_SLUICE_PARSED_CALLS_SCORES" GROUP BY "BATCH_KEY"');
  });

  it('a merge stream keeps its rows: no DELETE of the table', () => {
    const sql = applySql(events, [batch('amp/events/dt=2026-01-01/hr=10/data.jsonl.gz', 'e1', 99, 10)], new Map(), 'run-1');
    expect(sql.some((s) => s.startsWith('DELETE FROM "RAW"'))).toBe(false);
    expect(sql[2]).toContain('ON T."uuid" = S."K0" WHEN MATCHED THEN UPDATE SET "DATA" = S."V"');
  });
});

/** Records every statement; answers from a table of (statement prefix → rows or error). */
class RecordingClient implements SnowflakeClient {
  readonly sql: string[] = [];
  answers: Array<[string, Array<Record<string, unknown>> | Error]> = [];
  async execute(sql: string): Promise<Array<Record<string, unknown>>> {
    this.sql.push(sql);
    const answer = this.answers.find(([prefix]) => sql.startsWith(prefix))?.[1] ?? [];
    if (answer instanceof Error) throw answer;
    return answer;
  }
  async close(): Promise<void> {
    this.sql.push('<close>');
  }
}

describe('SnowflakeWarehouse: statements in order, one transaction per group', () => {
  const group = [batch('amp/events/dt=2026-01-01/hr=10/data.jsonl.gz', 'e1', 99, 10), batch('amp/events/dt=2026-01-01/hr=11/data.jsonl.gz', 'e2', 20, 11)];
  const copied = [{ file: `s3://lake/raw/${group[0]!.key}`, status: 'LOADED', errors_seen: 0 }];
  const columns = [['SELECT "COLUMN_NAME"', [{ COLUMN_NAME: 'uuid' }]]] as Array<[string, Array<Record<string, unknown>>]>;
  const open = async (client: RecordingClient) => SnowflakeWarehouse.open(config, async () => client);

  it('reads batches from its stage: it declares so, and needs no local file', async () => {
    const wh = await open(new RecordingClient());
    expect(wh.capabilities.readsFrom).toBe('storage');
  });

  it('setup, the table DDL before BEGIN, then lock, re-check, stage, counts, writes, COMMIT', async () => {
    const client = new RecordingClient();
    client.answers = [...columns, ['COPY INTO', copied], ['SELECT "BATCH_KEY", COUNT_IF', [{ BATCH_KEY: group[0]!.key, LOADED: 5, REJECTED: 2 }]]];
    const wh = await open(client);
    expect(await wh.load(events, group, 'run-1')).toEqual([
      { rows: 5, rejected: 2 },
      { rows: 0, rejected: 0 },
    ]);
    expect(client.sql).toEqual([
      ...SETUP_SQL,
      ...tableSql(events),
      columnsSql(events),
      'BEGIN',
      lockSql(events),
      recheckSql(group.map((b) => b.key)),
      ...clearSql(events),
      copySql(group, where),
      parseSql(events, group),
      countsSql(events),
      ...applySql(events, group, new Map([[group[0]!.key, { rows: 5, rejected: 2 }]]), 'run-1'),
      'COMMIT',
    ]);
  });

  it('a batch whose strict read left lines out is read again, alone, and its bad lines marked', async () => {
    const client = new RecordingClient();
    const report = [
      { file: `s3://lake/raw/${group[0]!.key}`, status: 'LOADED', errors_seen: 0 },
      { file: `s3://lake/raw/${group[1]!.key}`, status: 'PARTIALLY_LOADED', errors_seen: 2, first_error: 'Invalid UTF8 detected in string' },
    ];
    client.answers = [...columns, ['COPY INTO "SLUICE"."_SLUICE_LINES" ', report]];
    const wh = await open(client);
    await wh.load(events, group, 'run-1');
    const lenient = lenientCopySql([group[1]!.key], where);
    const at = client.sql.indexOf(copySql(group, where));
    expect(client.sql.slice(at, at + 4)).toEqual([copySql(group, where), ...lenient, parseSql(events, group)]);
  });

  it('batches the ledger holds under the lock with the same checksum are skipped; nothing is staged when all are', async () => {
    const client = new RecordingClient();
    client.answers = [
      ...columns,
      ['SELECT "BATCH_KEY", "VERSION", "CHECKSUM" FROM', group.map((b) => ({ BATCH_KEY: b.key, VERSION: 'other', CHECKSUM: b.checksum }))],
    ];
    const wh = await open(client);
    client.sql.length = 0;
    expect(await wh.load(events, group, 'run-2')).toEqual(group.map(() => ({ rows: 0, rejected: 0, skipped: true })));
    expect(client.sql).toEqual([...tableSql(events), columnsSql(events), 'BEGIN', lockSql(events), recheckSql(group.map((b) => b.key)), 'COMMIT']);
  });

  it('a batch the ledger holds with another checksum is loaded again; a ledger row without one compares versions', async () => {
    const client = new RecordingClient();
    client.answers = [
      ...columns,
      ['COPY INTO', copied],
      [
        'SELECT "BATCH_KEY", "VERSION", "CHECKSUM" FROM',
        [
          { BATCH_KEY: group[0]!.key, VERSION: group[0]!.version, CHECKSUM: 'older-content' },
          { BATCH_KEY: group[1]!.key, VERSION: group[1]!.version, CHECKSUM: null },
        ],
      ],
    ];
    const wh = await open(client);
    const results = await wh.load(events, group, 'run-2');
    expect(results.map((r) => r.skipped ?? false)).toEqual([false, true]);
    expect(client.sql).toContain(copySql([group[0]!], where));
  });

  it('a raw table whose key columns were upper-cased by an older version fails with the rename to run', async () => {
    const client = new RecordingClient();
    client.answers = [['SELECT "COLUMN_NAME"', [{ COLUMN_NAME: 'ID' }, { COLUMN_NAME: 'DATA' }]]];
    const wh = await open(client);
    await expect(wh.load({ ...cased, primaryKey: ['id'] }, group, 'run-1')).rejects.toMatchObject({
      code: 'data',
      message: expect.stringContaining('"id"'),
      hint: expect.stringContaining('ALTER TABLE "RAW"."API_THINGS" RENAME COLUMN "ID" TO "id";'),
    });
    expect(client.sql).not.toContain('BEGIN');
  });

  it('a failing statement rolls the whole group back', async () => {
    const client = new RecordingClient();
    client.answers = [...columns, ['MERGE INTO "RAW"', new Error('Numeric value overflow')], ['COPY INTO', copied]];
    const wh = await open(client);
    await expect(wh.load(events, group, 'run-1')).rejects.toMatchObject({ name: 'SluiceError', message: expect.stringContaining('Numeric value overflow') });
    expect(client.sql.at(-1)).toBe('ROLLBACK');
    expect(client.sql).not.toContain('COMMIT');
  });

  it('a batch that COPY did not read fails the group instead of being ledgered without rows', async () => {
    const client = new RecordingClient();
    client.answers = [...columns, ['COPY INTO', []]];
    const wh = await open(client);
    await expect(wh.load(events, group, 'run-1')).rejects.toMatchObject({ code: 'data', message: expect.stringContaining(group[0]!.key) });
    expect(client.sql.at(-1)).toBe('ROLLBACK');
  });

  it('recordVersions sends the guarded update, and nothing for no batches', async () => {
    const client = new RecordingClient();
    const wh = await open(client);
    client.sql.length = 0;
    await wh.recordVersions('amp', 'events', []);
    await wh.recordVersions('amp', 'events', [{ key: group[0]!.key, version: 'e7', checksum: 'c' }]);
    expect(client.sql).toEqual(recordVersionsSql('amp', 'events', [{ key: group[0]!.key, version: 'e7', checksum: 'c' }]));
  });
});

describe('sluice load into Snowflake: the batches stay in storage', () => {
  it('the pipeline never reads or copies a batch for a warehouse that reads storage, and gives it the stored checksum', async () => {
    const dir = tempDir('sf-load');
    try {
      const key = 'github/events/dt=2026-01-01/hr=10/r1.jsonl.gz';
      const bytes = zlib.gzipSync('{"id":"1"}\n');
      fs.mkdirSync(path.join(dir, path.dirname(key)), { recursive: true });
      fs.writeFileSync(path.join(dir, key), bytes);
      const store = new LocalStore(dir);
      // The store's bytes are off limits: only its listing and its checksum may be asked.
      store.openRead = () => {
        throw new Error('the batch was read by sluice');
      };
      store.localPath = () => {
        throw new Error('the batch was read from a local path');
      };
      const client = new RecordingClient();
      client.answers = [
        ['SELECT "COLUMN_NAME"', [{ COLUMN_NAME: 'id' }]],
        ['COPY INTO', [{ file: key, status: 'LOADED', errors_seen: 0 }]],
      ];
      const wh = await SnowflakeWarehouse.open(config, async () => client);
      const project = { storage: async () => store, warehouse: async () => wh, log: silentLogger } as unknown as Project;
      const report = emptyReport('github', 'events');
      await loadStream(project, 'github', { name: 'events', mode: 'cursor', primaryKey: ['id'] }, report, 'run-1');
      expect(report.errors).toEqual([]);
      expect(report.loaded_batches).toBe(1);
      const ledger = client.sql.find((s) => s.startsWith('MERGE INTO "SLUICE"."_LOADS"'));
      expect(ledger).toContain(`'${createHash('sha256').update(bytes).digest('hex')}')`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
