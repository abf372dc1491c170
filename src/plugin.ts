import type { z } from 'zod';
import type { Logger } from './core/logger.js';
import type { ObjectStore } from './core/object-store.js';
import type { Source } from './core/source.js';
import type { Warehouse } from './core/warehouse.js';

/** What a plug-in gets besides its own settings. */
export interface PluginContext {
  log: Logger;
  /** Where the settings sit in the config file, for messages: "sources[0]". */
  at: string;
  /** The state dir's scratch folder: what a killed run leaves there is swept by the next one. */
  tempDir: string;
  /**
   * Sources only: the run was started by `serve`'s schedule, not asked for by a user. A source
   * then polls no more often than its API asks (GitHub's `X-Poll-Interval`).
   */
  scheduled?: boolean;
}

/** A plug-in is data plus a factory: its settings are declared, `create` does the I/O. */
export interface Plugin<C, T> {
  readonly type: string;
  readonly configSchema: z.ZodType<C, unknown>;
  create(config: C, ctx: PluginContext): T | Promise<T>;
}

export type SourcePlugin<C = unknown> = Plugin<C, Source>;
export type StoragePlugin<C = unknown> = Plugin<C, ObjectStore>;
export type WarehousePlugin<C = unknown> = Plugin<C, Warehouse>;
