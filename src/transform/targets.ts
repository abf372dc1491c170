import type { WarehouseConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { DuckDbSqlTarget } from '../warehouse/duckdb/sql-target.js';
import { PostgresSqlTarget } from '../warehouse/postgres/sql-target.js';
import type { SqlTarget } from './target.js';

/** The one place that maps a warehouse type to the SQL target the transform builds models in. */
export async function openSqlTarget(warehouse: WarehouseConfig): Promise<SqlTarget> {
  switch (warehouse.type) {
    case 'duckdb':
      return DuckDbSqlTarget.open(warehouse.path);
    case 'postgres':
      return PostgresSqlTarget.open(warehouse.url);
    default:
      throw new ConfigError(`transform does not support the ${warehouse.type} warehouse yet`, {
        hint: 'use duckdb or postgres for models, or run the models with dbt',
      });
  }
}
