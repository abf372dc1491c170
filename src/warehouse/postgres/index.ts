import type { WarehousePlugin } from '../../core/plugin.js';
import { POSTGRES_CAPABILITIES, type PostgresConfig, postgresConfigSchema } from './config.js';

/** PostgreSQL: batches stream from their gzip files through COPY, so the pipeline hands it local files. */
export const postgresWarehouse: WarehousePlugin<PostgresConfig> = {
  type: 'postgres',
  configSchema: postgresConfigSchema,
  capabilities: POSTGRES_CAPABILITIES,
  async create(config, ctx) {
    const { PostgresWarehouse } = await import('./warehouse.js');
    return PostgresWarehouse.open(config, ctx.log);
  },
};
