import path from 'node:path';
import type { WarehousePlugin } from '../../core/plugin.js';
import { type DuckdbConfig, duckdbConfigSchema } from './config.js';

/**
 * The embedded default warehouse. DuckDB reads each batch file itself, so the pipeline hands it
 * local files. A group is about 8× its compressed size as JSON while it is checked, beside the
 * read buffer, all under the memory cap (64MB): 5 MB groups fit without spilling.
 */
export const duckdbWarehouse: WarehousePlugin<DuckdbConfig> = {
  type: 'duckdb',
  configSchema: duckdbConfigSchema,
  capabilities: { readsFrom: 'local-file', groupBytes: 5 * 1024 * 1024, groupBatches: 64 },
  async create(config, ctx) {
    const { DuckDbWarehouse } = await import('./warehouse.js');
    return DuckDbWarehouse.open(path.resolve(ctx.configDir, config.path), {
      memoryLimit: config.memory_limit ?? process.env.SLUICE_DUCKDB_MEMORY,
      tempDir: ctx.tempDir,
    });
  },
};
