import type { WarehousePlugin } from '../../core/plugin.js';
import { SQLSERVER_CAPABILITIES, type SqlServerConfig, sqlserverConfigSchema } from './config.js';

/** SQL Server: batches stream from their gzip files through TDS bulk load; `mssql` is loaded when a warehouse is opened. */
export const sqlserverWarehouse: WarehousePlugin<SqlServerConfig> = {
  type: 'sqlserver',
  configSchema: sqlserverConfigSchema,
  capabilities: SQLSERVER_CAPABILITIES,
  async create(config, ctx) {
    const { SqlServerWarehouse } = await import('./warehouse.js');
    return SqlServerWarehouse.open(config, ctx.log);
  },
};
