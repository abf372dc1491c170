import type * as z from 'zod';
import type { Logger } from './logger.js';
import type { ObjectStore } from './object-store.js';
import type { Source } from './source.js';
import type { TableSpec, Warehouse, WarehouseCapabilities } from './warehouse.js';

/** What a plug-in gets besides its own settings. */
export interface PluginContext {
  log: Logger;
  /** Where the settings sit in the config file, for messages: "sources[0]", "warehouse". */
  at: string;
  /** The config file's folder: relative paths in a plug-in's settings are relative to it. */
  configDir: string;
  /** The state dir's scratch folder: what a killed run leaves there is swept by the next one. */
  tempDir: string;
  /**
   * Sources only: the run was started by `serve`'s schedule, not asked for by a user. A source
   * then polls no more often than its API asks (GitHub's `X-Poll-Interval`).
   */
  scheduled?: boolean;
}

/**
 * A plug-in is data plus a factory (STYLE.md): its settings are declared as a zod schema that the
 * registry parses, and `create` does the I/O. A plug-in's module stays light: `create` imports
 * its driver (DuckDB, pg, the AWS SDK…) when it is first used, so commands that never open it
 * never load it.
 */
export interface Plugin<C, T> {
  readonly type: string;
  readonly configSchema: z.ZodType<C, unknown>;
  create(config: C, ctx: PluginContext): T | Promise<T>;
}

export type SourcePlugin<C = unknown> = Plugin<C, Source>;
export type StoragePlugin<C = unknown> = Plugin<C, ObjectStore>;

/** What `sluice setup <warehouse>` prints: the one-time statements an administrator runs. */
export interface SetupRequest<C> {
  config: C;
  /** The storage settings as written in the config (a warehouse that reads storage checks what it needs). */
  storage: Readonly<Record<string, unknown>>;
  /** Every raw table the configured sources load into. */
  tables: readonly TableSpec[];
  /** `--name value` options of the command line. */
  options: Readonly<Record<string, string>>;
}

export interface WarehousePlugin<C = unknown> extends Plugin<C, Warehouse> {
  /** Declared as data so the pipeline can plan before anything is opened. */
  readonly capabilities: WarehouseCapabilities;
  /** Optional: the one-time setup script (`sluice setup <type>`), for warehouses that need one. */
  setupScript?(request: SetupRequest<C>): string;
}
