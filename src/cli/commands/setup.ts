import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { TableSpec } from '../../core/warehouse.js';
import { print, withProject } from '../context.js';

export function registerSetup(program: Command): void {
  const setup = program.command('setup').description('print the one-time setup a warehouse needs');
  setup
    .command('snowflake')
    .description('print the storage integration, IAM policies, file format, stage and tables for Snowflake')
    .option('--integration <name>', 'name of the storage integration', 'sluice_s3')
    .option('--role-arn <arn>', 'the IAM role Snowflake assumes to read the bucket')
    .action(async (opts: { integration: string; roleArn?: string }, self: Command) => {
      await withProject(self, async (project, g) => {
        const type = project.config.warehouse.type;
        if (type !== 'snowflake') {
          throw new ConfigError(`warehouse.type is ${type}, not snowflake`, { hint: 'set warehouse.type: snowflake with its settings first' });
        }
        const tables: TableSpec[] = [];
        for (const resolved of project.sources) {
          const source = await resolved.create(project.log);
          for (const s of source.streams()) tables.push({ source: source.name, stream: s.name, mode: s.mode, primaryKey: s.primaryKey });
          await source.close();
        }
        const options = { integration: opts.integration, ...(opts.roleArn ? { 'role-arn': opts.roleArn } : {}) };
        const sql = project.warehouseSetup({ tables, options }) ?? '';
        print(g, { sql }, () => sql.trimEnd());
      });
    });
}
