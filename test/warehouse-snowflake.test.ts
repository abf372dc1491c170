import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BatchToLoad, TableSpec } from '../src/core/warehouse.js';
import type { SnowflakeClient, SnowflakeWarehouseConfig } from '../src/warehouse/snowflake/connection.js';
import { SnowflakeWarehouse } from '../src/warehouse/snowflake/index.js';
import { snowflakeSetupScript } from '../src/warehouse/snowflake/setup-sql.js';
import { applySql, countsSql, lockSql, recheckSql, SETUP_SQL, sfIdent, sfString, stageSql, tableSql } from '../src/warehouse/snowflake/sql.js';
import { runCli, tempDir, writeConfig } from './support/workspace.js';

/**
 * No Snowflake service can run here, so the SQL sluice sends is asserted exactly, and the
 * warehouse's statement order is checked through a client that records what it is given.
 */
const scores: TableSpec = { source: 'calls', stream: 'scores', mode: 'full', primaryKey: ['_parent_id', '$insert_id'] };
const events: TableSpec = { source: 'amp', stream: 'events', mode: 'window', primaryKey: ['uuid'] };
const batch = (key: string, version: string, size: number, hour: number): BatchToLoad => ({
  key,
  version,
  size,
  partitionMs: Date.UTC(2026, 0, 1, hour),
  file: '/unused',
});
const twoBatches = [batch('calls/scores/dt=2026-01-01/hr=10/r1.jsonl.gz', 'e1', 120, 10), batch("calls/scores/dt=2026-01-01/hr=11/o'k.jsonl.gz", 'e2', 20, 11)];
const config: SnowflakeWarehouseConfig = {
  type: 'snowflake',
  account: 'xy12345',
  user: 'LOADER',
  database: 'analytics',
  schema: 'sluice',
  warehouse: 'load_wh',
  stage: 'sluice_stage',
};

describe('Snowflake SQL', () => {
  it('names: plain names upper-cased and quoted (as Snowflake stores unquoted ones), others kept exactly; literals escaped', () => {
    expect(sfIdent('github_events')).toBe('"GITHUB_EVENTS"');
    expect(sfIdent('$insert_id')).toBe('"$insert_id"');
    expect(sfIdent('we"ird')).toBe('"we""ird"');
    expect(sfString("it's a \\ path")).toBe("'it''s a \\\\ path'");
  });

  it('the raw table, with one column per key part, and the session staging tables', () => {
    expect(tableSql(scores)).toEqual([
      `CREATE TABLE IF NOT EXISTS "RAW"."CALLS_SCORES" ("_PARENT_ID" VARCHAR NOT NULL, "$insert_id" VARCHAR NOT NULL, "DATA" VARIANT, "_SLUICE_PARTITION" TIMESTAMP_NTZ, "_SLUICE_BATCH" VARCHAR, "_SLUICE_LOADED_AT" TIMESTAMP_TZ, PRIMARY KEY ("_PARENT_ID", "$insert_id"))`,
      `CREATE TEMPORARY TABLE IF NOT EXISTS "SLUICE"."_SLUICE_LINES" ("LINE" VARCHAR, "FILE_NAME" VARCHAR, "LINE_NO" NUMBER)`,
      `CREATE TEMPORARY TABLE IF NOT EXISTS "SLUICE"."_SLUICE_PARSED_CALLS_SCORES" ("BATCH_KEY" VARCHAR, "SEQ" NUMBER, "PARTITION_AT" TIMESTAMP_NTZ, "LINE_NO" NUMBER, "LINE" VARCHAR, "V" VARIANT, "K0" VARCHAR, "K1" VARCHAR, "REASON" VARCHAR)`,
    ]);
  });

  it('the table lock and the ledger re-read under it', () => {
    expect(lockSql(events)).toBe(
      `MERGE INTO "SLUICE"."_LOCKS" T USING (SELECT '"RAW"."AMP_EVENTS"' AS "TABLE_NAME") S ON T."TABLE_NAME" = S."TABLE_NAME" WHEN MATCHED THEN UPDATE SET "LOCKED_AT" = CURRENT_TIMESTAMP() WHEN NOT MATCHED THEN INSERT ("TABLE_NAME", "LOCKED_AT") VALUES (S."TABLE_NAME", CURRENT_TIMESTAMP())`,
    );
    expect(recheckSql(['a/b/dt=2026-01-01/hr=00/x.jsonl.gz', "o'k"])).toBe(
      `SELECT "BATCH_KEY", "VERSION" FROM "SLUICE"."_LOADS" WHERE "BATCH_KEY" IN ('a/b/dt=2026-01-01/hr=00/x.jsonl.gz', 'o''k')`,
    );
  });

  it('COPY INTO from the external stage by batch key, then every line parsed once, judged and keyed', () => {
    expect(stageSql(scores, twoBatches, { schema: 'sluice', stage: 'sluice_stage' })).toEqual([
      `DELETE FROM "SLUICE"."_SLUICE_LINES"`,
      `DELETE FROM "SLUICE"."_SLUICE_PARSED_CALLS_SCORES"`,
      `COPY INTO "SLUICE"."_SLUICE_LINES" ("LINE", "FILE_NAME", "LINE_NO") FROM (SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER FROM @"SLUICE"."SLUICE_STAGE") FILES = ('calls/scores/dt=2026-01-01/hr=10/r1.jsonl.gz', 'calls/scores/dt=2026-01-01/hr=11/o''k.jsonl.gz') FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = NONE RECORD_DELIMITER = '\\n' SKIP_HEADER = 0 FIELD_OPTIONALLY_ENCLOSED_BY = NONE ESCAPE = NONE ESCAPE_UNENCLOSED_FIELD = NONE SKIP_BLANK_LINES = FALSE EMPTY_FIELD_AS_NULL = FALSE TRIM_SPACE = FALSE ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE REPLACE_INVALID_CHARACTERS = TRUE ENCODING = 'UTF8' COMPRESSION = GZIP) FORCE = TRUE ON_ERROR = ABORT_STATEMENT`,
      `INSERT INTO "SLUICE"."_SLUICE_PARSED_CALLS_SCORES" ("BATCH_KEY", "SEQ", "PARTITION_AT", "LINE_NO", "LINE", "V", "K0", "K1", "REASON") SELECT "BATCH_KEY", "SEQ", "PARTITION_AT", "LINE_NO", "LINE", V, "K0", "K1", CASE WHEN V IS NULL OR NOT IS_OBJECT(V) THEN 'not a JSON object' WHEN "K0" IS NULL THEN 'missing primary key: _parent_id' WHEN "K1" IS NULL THEN 'missing primary key: $insert_id' END FROM (SELECT B."BATCH_KEY", B."SEQ", B."PARTITION_AT", L."LINE_NO", L."LINE", TRY_PARSE_JSON(L."LINE") AS V, IFF(IS_OBJECT(V) AND NOT IS_NULL_VALUE(GET(V, '_parent_id')), GET(V, '_parent_id')::VARCHAR, NULL) AS "K0", IFF(IS_OBJECT(V) AND NOT IS_NULL_VALUE(GET(V, '$insert_id')), GET(V, '$insert_id')::VARCHAR, NULL) AS "K1" FROM "SLUICE"."_SLUICE_LINES" L JOIN (SELECT COLUMN1 AS "BATCH_KEY", COLUMN2 AS "SEQ", COLUMN3::TIMESTAMP_NTZ AS "PARTITION_AT" FROM VALUES ('calls/scores/dt=2026-01-01/hr=10/r1.jsonl.gz', 0, '2026-01-01 10:00:00'), ('calls/scores/dt=2026-01-01/hr=11/o''k.jsonl.gz', 1, '2026-01-01 11:00:00')) B ON L."FILE_NAME" = B."BATCH_KEY" OR ENDSWITH(L."FILE_NAME", '/' || B."BATCH_KEY") WHERE L."LINE" IS NOT NULL AND TRIM(L."LINE", ' \\t\\r') <> '')`,
    ]);
    expect(countsSql(scores)).toBe(
      `SELECT "BATCH_KEY", COUNT_IF("REASON" IS NULL) AS "LOADED", COUNT_IF("REASON" IS NOT NULL) AS "REJECTED" FROM "SLUICE"."_SLUICE_PARSED_CALLS_SCORES" GROUP BY "BATCH_KEY"`,
    );
  });

  it('a full stream: table emptied, rejects replaced, MERGE on the composite key, ledger rows, one transaction', () => {
    const counts = new Map([[twoBatches[0]!.key, { rows: 3, rejected: 1 }]]);
    expect(applySql(scores, twoBatches, counts, 'run-1')).toEqual([
      `DELETE FROM "RAW"."CALLS_SCORES"`,
      `DELETE FROM "SLUICE"."_REJECTS" WHERE "BATCH_KEY" IN ('calls/scores/dt=2026-01-01/hr=10/r1.jsonl.gz', 'calls/scores/dt=2026-01-01/hr=11/o''k.jsonl.gz')`,
      `INSERT INTO "SLUICE"."_REJECTS" ("BATCH_KEY", "LINE_NUMBER", "REASON", "LINE", "RUN_ID", "REJECTED_AT") SELECT "BATCH_KEY", "LINE_NO", "REASON", "LINE", 'run-1', CURRENT_TIMESTAMP() FROM "SLUICE"."_SLUICE_PARSED_CALLS_SCORES" WHERE "REASON" IS NOT NULL`,
      `MERGE INTO "RAW"."CALLS_SCORES" T USING (SELECT "K0", "K1", "V", "PARTITION_AT", "BATCH_KEY" FROM "SLUICE"."_SLUICE_PARSED_CALLS_SCORES" WHERE "REASON" IS NULL QUALIFY ROW_NUMBER() OVER (PARTITION BY "K0", "K1" ORDER BY "SEQ" DESC, "LINE_NO" DESC) = 1) S ON T."_PARENT_ID" = S."K0" AND T."$insert_id" = S."K1" WHEN MATCHED THEN UPDATE SET "DATA" = S."V", "_SLUICE_PARTITION" = S."PARTITION_AT", "_SLUICE_BATCH" = S."BATCH_KEY", "_SLUICE_LOADED_AT" = CURRENT_TIMESTAMP() WHEN NOT MATCHED THEN INSERT ("_PARENT_ID", "$insert_id", "DATA", "_SLUICE_PARTITION", "_SLUICE_BATCH", "_SLUICE_LOADED_AT") VALUES (S."K0", S."K1", S."V", S."PARTITION_AT", S."BATCH_KEY", CURRENT_TIMESTAMP())`,
      `MERGE INTO "SLUICE"."_LOADS" T USING (SELECT COLUMN1 AS "BATCH_KEY", COLUMN2 AS "VERSION", COLUMN3 AS "SIZE", COLUMN4 AS "LOADED", COLUMN5 AS "REJECTED" FROM VALUES ('calls/scores/dt=2026-01-01/hr=10/r1.jsonl.gz', 'e1', 120, 3, 1), ('calls/scores/dt=2026-01-01/hr=11/o''k.jsonl.gz', 'e2', 20, 0, 0)) S ON T."BATCH_KEY" = S."BATCH_KEY" WHEN MATCHED THEN UPDATE SET "SOURCE" = 'calls', "STREAM" = 'scores', "VERSION" = S."VERSION", "SIZE" = S."SIZE", "ROWS" = S."LOADED", "REJECTED" = S."REJECTED", "RUN_ID" = 'run-1', "LOADED_AT" = CURRENT_TIMESTAMP() WHEN NOT MATCHED THEN INSERT ("BATCH_KEY", "SOURCE", "STREAM", "VERSION", "SIZE", "ROWS", "REJECTED", "RUN_ID", "LOADED_AT") VALUES (S."BATCH_KEY", 'calls', 'scores', S."VERSION", S."SIZE", S."LOADED", S."REJECTED", 'run-1', CURRENT_TIMESTAMP())`,
    ]);
  });

  it('a merge stream keeps its rows: no DELETE of the table', () => {
    const sql = applySql(events, [batch('amp/events/dt=2026-01-01/hr=10/data.jsonl.gz', 'e1', 99, 10)], new Map(), 'run-1');
    expect(sql.some((s) => s.startsWith('DELETE FROM "RAW"'))).toBe(false);
    expect(sql[2]).toContain('ON T."UUID" = S."K0" WHEN MATCHED THEN UPDATE SET "DATA" = S."V"');
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
  const copied = [{ file: `s3://lake/raw/${group[0]!.key}`, status: 'LOADED' }];
  const open = async (client: RecordingClient) => SnowflakeWarehouse.open(config, async () => client);

  it('setup, the table DDL before BEGIN, then lock, re-check, stage, counts, writes, COMMIT', async () => {
    const client = new RecordingClient();
    client.answers = [
      ['COPY INTO', copied],
      ['SELECT "BATCH_KEY", COUNT_IF', [{ BATCH_KEY: group[0]!.key, LOADED: 5, REJECTED: 2 }]],
    ];
    const wh = await open(client);
    expect(await wh.load(events, group, 'run-1')).toEqual([
      { rows: 5, rejected: 2 },
      { rows: 0, rejected: 0 },
    ]);
    const stage = stageSql(events, group, { schema: 'sluice', stage: 'sluice_stage' });
    expect(client.sql).toEqual([
      ...SETUP_SQL,
      ...tableSql(events),
      'BEGIN',
      lockSql(events),
      recheckSql(group.map((b) => b.key)),
      ...stage,
      countsSql(events),
      ...applySql(events, group, new Map([[group[0]!.key, { rows: 5, rejected: 2 }]]), 'run-1'),
      'COMMIT',
    ]);
  });

  it('batches the ledger holds under the lock are skipped; nothing is staged when all are', async () => {
    const client = new RecordingClient();
    client.answers = [['SELECT "BATCH_KEY", "VERSION" FROM', group.map((b) => ({ BATCH_KEY: b.key, VERSION: b.version }))]];
    const wh = await open(client);
    client.sql.length = 0;
    expect(await wh.load(events, group, 'run-2')).toEqual(group.map(() => ({ rows: 0, rejected: 0, skipped: true })));
    expect(client.sql).toEqual([...tableSql(events), 'BEGIN', lockSql(events), recheckSql(group.map((b) => b.key)), 'COMMIT']);
  });

  it('a failing statement rolls the whole group back', async () => {
    const client = new RecordingClient();
    client.answers = [
      ['MERGE INTO "RAW"', new Error('Numeric value overflow')],
      ['COPY INTO', copied],
    ];
    const wh = await open(client);
    await expect(wh.load(events, group, 'run-1')).rejects.toMatchObject({ name: 'SluiceError', message: expect.stringContaining('Numeric value overflow') });
    expect(client.sql.at(-1)).toBe('ROLLBACK');
    expect(client.sql).not.toContain('COMMIT');
  });

  it('a batch that COPY did not read fails the group instead of being ledgered without rows', async () => {
    const client = new RecordingClient();
    client.answers = [['COPY INTO', []]];
    const wh = await open(client);
    await expect(wh.load(events, group, 'run-1')).rejects.toMatchObject({ code: 'data', message: expect.stringContaining(group[0]!.key) });
    expect(client.sql.at(-1)).toBe('ROLLBACK');
  });
});

describe('sluice setup snowflake', () => {
  it('prints the integration, the IAM trust and read policies, the file format, the stage and the tables', () => {
    const sql = snowflakeSetupScript({
      config: { ...config, role: 'sluice_loader' },
      bucket: 'my-lake',
      prefix: 'raw',
      integration: 'sluice_s3',
      roleArn: 'arn:aws:iam::123456789012:role/snowflake-sluice',
      tables: [events],
    });
    const lines = sql.split('\n');
    expect(lines.slice(4, 12)).toEqual([
      'CREATE STORAGE INTEGRATION IF NOT EXISTS "SLUICE_S3"',
      '  TYPE = EXTERNAL_STAGE',
      "  STORAGE_PROVIDER = 'S3'",
      '  ENABLED = TRUE',
      "  STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowflake-sluice'",
      "  STORAGE_ALLOWED_LOCATIONS = ('s3://my-lake/raw/');",
      'GRANT USAGE ON INTEGRATION "SLUICE_S3" TO ROLE "SLUICE_LOADER";',
      'DESC INTEGRATION "SLUICE_S3";',
    ]);
    const policy = (start: string) => {
      let i = lines.findIndex((l) => l.startsWith(start));
      while (!lines[i]?.startsWith('--   ')) i++;
      const body: string[] = [];
      for (; lines[i]?.startsWith('--   '); i++) body.push(lines[i]!.slice(5));
      return JSON.parse(body.join('\n')) as unknown;
    };
    expect(policy('-- Trust policy')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: '<STORAGE_AWS_IAM_USER_ARN>' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': '<STORAGE_AWS_EXTERNAL_ID>' } },
        },
      ],
    });
    expect(policy('-- Permissions policy')).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: 'arn:aws:s3:::my-lake/raw/*' },
        {
          Effect: 'Allow',
          Action: ['s3:ListBucket', 's3:GetBucketLocation'],
          Resource: 'arn:aws:s3:::my-lake',
          Condition: { StringLike: { 's3:prefix': ['raw/*'] } },
        },
      ],
    });
    const from = lines.indexOf('USE DATABASE "ANALYTICS";');
    expect(lines.slice(from, from + 4)).toEqual([
      'USE DATABASE "ANALYTICS";',
      'CREATE SCHEMA IF NOT EXISTS "SLUICE";',
      `CREATE FILE FORMAT IF NOT EXISTS "SLUICE"."SLUICE_JSONL_LINES" TYPE = CSV FIELD_DELIMITER = NONE RECORD_DELIMITER = '\\n' SKIP_HEADER = 0 FIELD_OPTIONALLY_ENCLOSED_BY = NONE ESCAPE = NONE ESCAPE_UNENCLOSED_FIELD = NONE SKIP_BLANK_LINES = FALSE EMPTY_FIELD_AS_NULL = FALSE TRIM_SPACE = FALSE ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE REPLACE_INVALID_CHARACTERS = TRUE ENCODING = 'UTF8' COMPRESSION = GZIP;`,
      `CREATE STAGE IF NOT EXISTS "SLUICE"."SLUICE_STAGE" URL = 's3://my-lake/raw/' STORAGE_INTEGRATION = "SLUICE_S3" FILE_FORMAT = "SLUICE"."SLUICE_JSONL_LINES";`,
    ]);
    expect(lines.slice(-7)).toEqual([...SETUP_SQL.map((s) => `${s};`), `${tableSql(events)[0]};`, '']);
  });

  it('a bucket encrypted with KMS adds kms:Decrypt on its key to the read policy', () => {
    const sql = snowflakeSetupScript({
      config,
      bucket: 'lake',
      prefix: '',
      sse: 'aws:kms',
      kmsKeyId: 'arn:aws:kms:eu-west-1:1:key/abc',
      integration: 'sluice_s3',
      roleArn: 'arn:aws:iam::1:role/r',
      tables: [],
    });
    expect(sql).toContain('--         "Resource": "arn:aws:kms:eu-west-1:1:key/abc"');
    expect(sql).toContain("STORAGE_ALLOWED_LOCATIONS = ('s3://lake/');");
    expect(sql).not.toContain('s3:prefix');
  });
});

describe('the Snowflake driver', () => {
  it('snowflake-sdk installs and imports on this Node; sluice loads it only for a snowflake warehouse', async () => {
    const name = 'snowflake-sdk';
    const mod = (await import(name)) as { default: { createConnection: unknown } };
    expect(typeof mod.default.createConnection).toBe('function');
  });
});

describe('sluice setup snowflake (the command)', () => {
  const write = (storage: unknown) => {
    const dir = tempDir('sf-setup');
    writeConfig(dir, {
      storage,
      warehouse: {
        type: 'snowflake',
        account: 'xy12345',
        user: 'LOADER',
        password: 'sf-pw-90210',
        database: 'analytics',
        warehouse: 'load_wh',
        role: 'sluice_loader',
      },
      sources: [{ name: 'github', type: 'github', repos: ['duckdb/duckdb'] }],
    });
    return dir;
  };

  it('prints the setup for the configured bucket, prefix and streams, and never a secret', async () => {
    const dir = write({ type: 's3', bucket: 'my-lake', prefix: 'raw/' });
    const r = await runCli(['setup', 'snowflake', '--role-arn', 'arn:aws:iam::123456789012:role/snowflake-sluice'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      snowflakeSetupScript({
        config: { ...config, role: 'sluice_loader' },
        bucket: 'my-lake',
        prefix: 'raw/',
        integration: 'sluice_s3',
        roleArn: 'arn:aws:iam::123456789012:role/snowflake-sluice',
        tables: [{ source: 'github', stream: 'events', mode: 'cursor', primaryKey: ['id'] }],
      }),
    );
    expect(r.stdout + r.stderr).not.toContain('sf-pw-90210');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('needs S3 storage: Snowflake reads the batches from the bucket (exit 2 with the fix)', async () => {
    const dir = write({ type: 'local', path: './lake' });
    const r = await runCli(['setup', 'snowflake'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('set storage.type: s3');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
