import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { TableSpec } from '../../core/warehouse.js';
import { snowflakeSetupScript } from '../../warehouse/snowflake/setup-sql.js';
import { print, withProject } from '../context.js';

const ROLE_ARN_PLACEHOLDER = 'arn:aws:iam::<aws-account-id>:role/<role-for-snowflake>';

export function registerSetup(program: Command): void {
  const setup = program.command('setup').description('print the one-time setup a warehouse needs');
  setup
    .command('snowflake')
    .description('print the storage integration, IAM policies, file format, stage and tables for Snowflake')
    .option('--integration <name>', 'name of the storage integration', 'sluice_s3')
    .option('--role-arn <arn>', 'the IAM role Snowflake assumes to read the bucket', ROLE_ARN_PLACEHOLDER)
    .action(async (opts: { integration: string; roleArn: string }, self: Command) => {
      await withProject(self, async (project, g) => {
        const { warehouse, storage } = project.config;
        if (warehouse.type !== 'snowflake') {
          throw new ConfigError(`warehouse.type is ${warehouse.type}, not snowflake`, { hint: 'set warehouse.type: snowflake with its settings first' });
        }
        if (storage.type !== 's3') {
          throw new ConfigError('Snowflake loads from an external stage over S3, and storage.type is not s3', {
            hint: 'set storage.type: s3 (bucket, prefix): Snowflake reads the batches there',
          });
        }
        const tables: TableSpec[] = [];
        for (const resolved of project.sources) {
          const source = resolved.create(project.log);
          for (const s of source.streams()) tables.push({ source: source.name, stream: s.name, mode: s.mode, primaryKey: s.primaryKey });
          await source.close();
        }
        const sql = snowflakeSetupScript({
          config: warehouse,
          bucket: storage.bucket,
          prefix: storage.prefix,
          sse: storage.sse,
          kmsKeyId: storage.kms_key_id,
          integration: opts.integration,
          roleArn: opts.roleArn,
          tables,
        });
        print(g, { sql }, () => sql.trimEnd());
      });
    });
}
