import type { TableSpec } from '../../core/warehouse.js';
import type { SnowflakeWarehouseConfig } from './connection.js';
import { LINES_FORMAT, SETUP_SQL, sfIdent, sfString, tableSql } from './sql.js';

export interface SnowflakeSetup {
  config: SnowflakeWarehouseConfig;
  /** The storage bucket and prefix the stage reads (the keys below it are the batch keys). */
  bucket: string;
  prefix: string;
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  integration: string;
  /** The IAM role Snowflake assumes to read the bucket. */
  roleArn: string;
  tables: readonly TableSpec[];
}

export const FILE_FORMAT_NAME = 'sluice_jsonl_lines';

const json = (value: unknown) =>
  JSON.stringify(value, null, 2)
    .split('\n')
    .map((l) => `--   ${l}`);

/**
 * What a user runs once so that Snowflake can load the batches itself: the storage integration
 * (an IAM role Snowflake assumes), the IAM policies for that role, the file format, the external
 * stage over the storage prefix, and the tables.
 */
export function snowflakeSetupScript(s: SnowflakeSetup): string {
  const prefix = s.prefix === '' || s.prefix.endsWith('/') ? s.prefix : `${s.prefix}/`;
  const url = `s3://${s.bucket}/${prefix}`;
  const integration = sfIdent(s.integration);
  const stage = `${sfIdent(s.config.schema)}.${sfIdent(s.config.stage)}`;
  const format = `${sfIdent(s.config.schema)}.${sfIdent(FILE_FORMAT_NAME)}`;
  const role = s.config.role ? `ROLE ${sfIdent(s.config.role)}` : 'ROLE <the role sluice connects with>';
  const trust = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: '<STORAGE_AWS_IAM_USER_ARN>' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': '<STORAGE_AWS_EXTERNAL_ID>' } },
      },
    ],
  };
  const read = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: `arn:aws:s3:::${s.bucket}/${prefix}*` },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:GetBucketLocation'],
        Resource: `arn:aws:s3:::${s.bucket}`,
        ...(prefix ? { Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
      },
      ...(s.sse === 'aws:kms' ? [{ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: s.kmsKeyId ?? '<the KMS key ARN of storage.kms_key_id>' }] : []),
    ],
  };
  const lines = [
    `-- sluice setup for Snowflake: run once, in this order. Snowflake reads the batches in ${url}`,
    '-- itself (COPY INTO from an external stage): the data never passes through sluice.',
    '',
    '-- 1. As ACCOUNTADMIN (or a role with CREATE INTEGRATION): an integration that assumes an IAM role.',
    `CREATE STORAGE INTEGRATION IF NOT EXISTS ${integration}`,
    '  TYPE = EXTERNAL_STAGE',
    "  STORAGE_PROVIDER = 'S3'",
    '  ENABLED = TRUE',
    `  STORAGE_AWS_ROLE_ARN = ${sfString(s.roleArn)}`,
    `  STORAGE_ALLOWED_LOCATIONS = (${sfString(url)});`,
    `GRANT USAGE ON INTEGRATION ${integration} TO ${role};`,
    `DESC INTEGRATION ${integration};`,
    '',
    `-- 2. In AWS IAM, on the role ${s.roleArn}:`,
    '-- Trust policy: put STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID from DESC INTEGRATION in it.',
    '-- The external id is what keeps another Snowflake account from assuming the role.',
    ...json(trust),
    '-- Permissions policy: read only, and only below the storage prefix.',
    ...json(read),
    '-- Creating the integration again changes the external id: update the trust policy then.',
    '',
    `-- 3. As the role sluice connects with, in database ${s.config.database}: file format and stage.`,
    `USE DATABASE ${sfIdent(s.config.database)};`,
    `CREATE SCHEMA IF NOT EXISTS ${sfIdent(s.config.schema)};`,
    `CREATE FILE FORMAT IF NOT EXISTS ${format} ${LINES_FORMAT};`,
    `CREATE STAGE IF NOT EXISTS ${stage} URL = ${sfString(url)} STORAGE_INTEGRATION = ${integration} FILE_FORMAT = ${format};`,
    `-- Check: LIST @${stage}; shows the batches (paths like source/stream/dt=YYYY-MM-DD/hr=HH/part.jsonl.gz).`,
    '',
    '-- 4. Tables: the ledger, the rejects and one raw table per stream (sluice also creates them on first load).',
    ...SETUP_SQL.map((sql) => `${sql};`),
    ...s.tables.map((t) => `${tableSql(t)[0]};`),
  ];
  return `${lines.join('\n')}\n`;
}
