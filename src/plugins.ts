import path from 'node:path';
import type { SluiceConfig } from './config/load.js';
import { configErrorFrom } from './config/zod-errors.js';
import { ConfigError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import type { ObjectStore } from './core/object-store.js';
import type { Source } from './core/source.js';
import type { Warehouse } from './core/warehouse.js';
import type { SourcePlugin, StoragePlugin, WarehousePlugin } from './plugin.js';
import { amplitudeSource } from './sources/amplitude/index.js';
import { githubSource } from './sources/github/index.js';
import { restSource } from './sources/rest/index.js';
import { localStorage } from './storage/local/index.js';
import { s3Storage } from './storage/s3/index.js';
import { duckdbWarehouse } from './warehouse/duckdb/index.js';
import { postgresWarehouse } from './warehouse/postgres/index.js';
import { snowflakeWarehouse } from './warehouse/snowflake/index.js';

/** The one place that maps a config `type` to its plug-in. */
const SOURCES: Record<string, SourcePlugin<never>> = {
  amplitude: amplitudeSource as SourcePlugin<never>,
  github: githubSource as SourcePlugin<never>,
  rest: restSource as SourcePlugin<never>,
};
const STORAGES: Record<string, StoragePlugin<never>> = { local: localStorage as StoragePlugin<never>, s3: s3Storage as StoragePlugin<never> };
const WAREHOUSES: Record<string, WarehousePlugin<never>> = {
  duckdb: duckdbWarehouse as WarehousePlugin<never>,
  postgres: postgresWarehouse as WarehousePlugin<never>,
  snowflake: snowflakeWarehouse as WarehousePlugin<never>,
};

/** Where plug-ins and steps keep scratch files: swept of a killed run's leftovers (see cleanupLeftovers). */
export const tempDirOf = (config: SluiceConfig): string => path.join(config.stateDir, 'tmp');

export const sourceTypes = (): string[] => Object.keys(SOURCES);

/** A source whose settings its plug-in has validated; `create` opens it. */
export interface ResolvedSource {
  name: string;
  type: string;
  at: string;
  create(log: Logger): Source;
}

/**
 * Validates every source entry with its plug-in's schema: all config errors surface before any work.
 * `scheduled`: the sources are created for runs that `serve`'s schedule starts.
 */
export function resolveSources(config: SluiceConfig, o: { scheduled?: boolean } = {}): ResolvedSource[] {
  const scheduled = o.scheduled === true;
  return config.sources.map((entry, i) => {
    const at = `sources[${i}]`;
    const plugin = SOURCES[entry.type];
    if (!plugin) {
      throw new ConfigError(
        `invalid config in ${config.file}:\n  ${at}.type: unknown source type "${entry.type}"; expected one of: ${sourceTypes().join(', ')}`,
        {
          hint: 'set type to one of the supported source types',
        },
      );
    }
    const parsed = plugin.configSchema.safeParse(entry);
    if (!parsed.success) throw configErrorFrom(parsed.error, at, config.file);
    const settings = parsed.data;
    return {
      name: entry.name,
      type: entry.type,
      at,
      create: (log: Logger) => plugin.create(settings, { log, at, scheduled, tempDir: tempDirOf(config) }) as Source,
    };
  });
}

export async function createStorage(config: SluiceConfig, log: Logger): Promise<ObjectStore> {
  const plugin = STORAGES[config.storage.type];
  if (!plugin) throw new ConfigError(`storage.type: unknown storage type "${config.storage.type}"`);
  return plugin.create(config.storage as never, { log, at: 'storage', tempDir: tempDirOf(config) });
}

export async function createWarehouse(config: SluiceConfig, log: Logger): Promise<Warehouse> {
  const plugin = WAREHOUSES[config.warehouse.type];
  if (!plugin) throw new ConfigError(`warehouse.type: unknown warehouse type "${config.warehouse.type}"`);
  return plugin.create(config.warehouse as never, { log, at: 'warehouse', tempDir: tempDirOf(config) });
}
