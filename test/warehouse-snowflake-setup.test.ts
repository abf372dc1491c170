import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TableSpec } from '../src/core/warehouse.js';
import type { SnowflakeWarehouseConfig } from '../src/warehouse/snowflake/connection.js';
import { snowflakeSetupScript } from '../src/warehouse/snowflake/setup-sql.js';
import { SETUP_SQL, tableSql } from '../src/warehouse/snowflake/sql.js';
import { runCli, tempDir, writeConfig } from './support/workspace.js';

/** What a user runs once so that Snowflake reads the batches itself, and the optional driver. */
const events: TableSpec = { source: 'amp', stream: 'events', mode: 'window', primaryKey: ['uuid'] };
const config: SnowflakeWarehouseConfig = {
  type: 'snowflake',
  account: 'xy12345',
  user: 'LOADER',
  database: 'analytics',
  schema: 'sluice',
  warehouse: 'load_wh',
  stage: 'sluice_stage',
};

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
    expect(lines.slice(-(SETUP_SQL.length + 2))).toEqual([...SETUP_SQL.map((s) => `${s};`), `${tableSql(events)[0]};`, '']);
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
