import path from 'node:path';
import type { SluiceConfig } from './config/load.js';
import { configErrorFrom } from './config/zod-errors.js';
import { ConfigError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import type { LocalFolder, ObjectStore } from './core/object-store.js';
import type { Plugin, PluginContext, SetupRequest, WarehousePlugin } from './core/plugin.js';
import type { Source } from './core/source.js';
import type { Warehouse, WarehouseCapabilities } from './core/warehouse.js';
import { amplitudeSource } from './sources/amplitude/index.js';
import { githubSource } from './sources/github/index.js';
import { restSource } from './sources/rest/index.js';
import { LocalStore, localStorage } from './storage/local/index.js';
import { s3Storage } from './storage/s3/index.js';
import { duckdbWarehouse } from './warehouse/duckdb/index.js';
import { postgresWarehouse } from './warehouse/postgres/index.js';
import { snowflakeWarehouse } from './warehouse/snowflake/index.js';
import { sqlserverWarehouse } from './warehouse/sqlserver/index.js';

/**
 * The one place that maps a config `type` to its plug-in. A plug-in module is light (its settings
 * and capabilities); its driver is imported when `create` first runs.
 */
const SOURCES = [bind(amplitudeSource), bind(githubSource), bind(restSource)];
const STORAGES = [bind(localStorage), bind(s3Storage)];
const WAREHOUSES = [bindWarehouse(duckdbWarehouse), bindWarehouse(postgresWarehouse), bindWarehouse(snowflakeWarehouse), bindWarehouse(sqlserverWarehouse)];

/** Settings a plug-in has parsed: `create` opens the thing with them. */
export interface Resolved<T> {
  type: string;
  /** Where the settings sit in the config file: "sources[0]", "storage", "warehouse". */
  at: string;
  create(log: Logger): Promise<T>;
}

/** A source whose settings its plug-in has validated. */
export interface ResolvedSource extends Resolved<Source> {
  name: string;
}

export interface ResolvedWarehouse extends Resolved<Warehouse> {
  capabilities: WarehouseCapabilities;
  /** The one-time setup script, when the warehouse needs one (`sluice setup`). */
  setupScript?(request: Omit<SetupRequest<unknown>, 'config'>): string;
}

/** Where plug-ins and steps keep scratch files: swept of a killed run's leftovers (see cleanupLeftovers). */
export const tempDirOf = (config: SluiceConfig): string => path.join(config.stateDir, 'tmp');

/**
 * Validates every source entry with its plug-in's schema: all config errors surface before any work.
 * `scheduled`: the sources are created for runs that `serve`'s schedule starts.
 */
export function resolveSources(config: SluiceConfig, o: { scheduled?: boolean } = {}): ResolvedSource[] {
  return config.sources.map((entry, i) => {
    const at = `sources[${i}]`;
    const resolved = pluginFor(SOURCES, entry.type, at, 'source', config.file).resolve(entry, contextOf(config, at, o.scheduled === true));
    return { ...resolved, name: entry.name };
  });
}

export function resolveStorage(config: SluiceConfig): Resolved<ObjectStore> {
  return pluginFor(STORAGES, config.storage.type, 'storage', 'storage', config.file).resolve(config.storage, contextOf(config, 'storage', false));
}

export function resolveWarehouse(config: SluiceConfig): ResolvedWarehouse {
  return pluginFor(WAREHOUSES, config.warehouse.type, 'warehouse', 'warehouse', config.file).resolve(config.warehouse, contextOf(config, 'warehouse', false));
}

/** Landing: a local folder in the state dir with the same layout as storage. */
export function openLandingFolder(root: string): LocalFolder {
  return new LocalStore(root);
}

export const sourceTypes = (): string[] => SOURCES.map((s) => s.type);

type Place = Pick<PluginContext, 'at' | 'configDir' | 'tempDir' | 'scheduled'> & { file: string };

const contextOf = (config: SluiceConfig, at: string, scheduled: boolean): Place => ({
  at,
  configDir: config.dir,
  tempDir: tempDirOf(config),
  file: config.file,
  ...(scheduled ? { scheduled } : {}),
});

/** A plug-in behind one typed door: its settings are parsed by its own schema, then handed to its own `create`. */
function bind<C, T>(plugin: Plugin<C, T>) {
  return {
    type: plugin.type,
    resolve(entry: unknown, place: Place): Resolved<T> {
      const settings = parse(plugin, entry, place);
      const { file: _, ...ctx } = place;
      return { type: plugin.type, at: place.at, create: async (log) => plugin.create(settings, { log, ...ctx }) };
    },
  };
}

function bindWarehouse<C>(plugin: WarehousePlugin<C>) {
  return {
    type: plugin.type,
    resolve(entry: unknown, place: Place): ResolvedWarehouse {
      const resolved = bind(plugin).resolve(entry, place);
      const settings = parse(plugin, entry, place);
      const setup = plugin.setupScript?.bind(plugin);
      return {
        ...resolved,
        capabilities: plugin.capabilities,
        ...(setup ? { setupScript: (request: Omit<SetupRequest<C>, 'config'>) => setup({ ...request, config: settings }) } : {}),
      };
    },
  };
}

function pluginFor<P extends { type: string }>(plugins: readonly P[], type: string, at: string, kind: string, file: string): P {
  const plugin = plugins.find((p) => p.type === type);
  if (plugin) return plugin;
  throw new ConfigError(`invalid config in ${file}:\n  ${at}.type: unknown ${kind} type "${type}"; expected one of: ${plugins.map((p) => p.type).join(', ')}`, {
    hint: `set ${at}.type to one of the supported ${kind} types`,
  });
}

function parse<C>(plugin: Plugin<C, unknown>, entry: unknown, place: Place): C {
  const parsed = plugin.configSchema.safeParse(entry);
  if (!parsed.success) throw configErrorFrom(parsed.error, place.at, place.file);
  return parsed.data;
}
