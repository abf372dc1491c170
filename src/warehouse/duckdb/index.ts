import path from 'node:path';
import type { WarehousePlugin } from '../../core/plugin.js';
import { DUCKDB_CAPABILITIES, type DuckdbConfig, duckdbConfigSchema } from './config.js';

/** The embedded default warehouse: one DuckDB file, loaded by DuckDB's own readers. */
export const duckdbWarehouse: WarehousePlugin<DuckdbConfig> = {
  type: 'duckdb',
  configSchema: duckdbConfigSchema,
  capabilities: DUCKDB_CAPABILITIES,
  async create(config, ctx) {
    const { DuckDbWarehouse } = await import('./warehouse.js');
    return DuckDbWarehouse.open(path.resolve(ctx.configDir, config.path), {
      memoryLimit: config.memory_limit ?? process.env.SLUICE_DUCKDB_MEMORY,
      tempDir: ctx.tempDir,
    });
  },
};
