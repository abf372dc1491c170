import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { TableSpec } from '../../core/warehouse.js';
import { withProject } from '../context.js';
import { print } from '../output.js';

/** `sluice setup snowflake`: the one-time SQL (and IAM policies) Snowflake needs. */
export async function setupSnowflakeCommand(opts: { integration: string; roleArn?: string }, self: Command): Promise<void> {
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
}
