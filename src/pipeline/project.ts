import path from 'node:path';
import type { SluiceConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { LocalFolder, ObjectStore } from '../core/object-store.js';
import type { SqlTarget } from '../core/sql-target.js';
import type { TableSpec, Warehouse, WarehouseCapabilities } from '../core/warehouse.js';
import {
  openLandingFolder,
  type Resolved,
  type ResolvedSource,
  type ResolvedWarehouse,
  resolveSources,
  resolveStorage,
  resolveWarehouse,
  tempDirOf,
} from '../plugins.js';

/**
 * Everything a command works with, opened lazily: config and sources are validated up front,
 * storage and the warehouse are opened when first needed. `close()` closes the warehouse, and the
 * next call to `warehouse()` opens it again: a long-lived process (`serve`) closes it after each
 * run so that other processes can use it in between.
 */
export class Project {
  readonly config: SluiceConfig;
  readonly sources: ResolvedSource[];
  readonly log: Logger;
  /** Landing: a local folder in the state dir with the same layout as storage. */
  readonly landing: LocalFolder;
  /** Scratch files of a run (downloads, load copies): a killed run's are swept by the next. */
  readonly tempDir: string;
  private readonly resolvedStorage: Resolved<ObjectStore>;
  private readonly resolvedWarehouse: ResolvedWarehouse;
  /** Shared by every `withLog` view (an own object, so a view's assignments reach the project). */
  private readonly opened: { storage?: Promise<ObjectStore>; warehouse?: Promise<Warehouse> } = {};

  constructor(config: SluiceConfig, log: Logger) {
    this.config = config;
    this.log = log;
    this.sources = resolveSources(config);
    this.resolvedStorage = resolveStorage(config);
    this.resolvedWarehouse = resolveWarehouse(config);
    this.landing = openLandingFolder(path.join(config.stateDir, 'landing'));
    this.tempDir = tempDirOf(config);
  }

  /** The same project, logging with extra bindings (e.g. the run id); storage and warehouse are shared. */
  withLog(log: Logger): Project {
    return Object.create(this, { log: { value: log } }) as Project;
  }

  /** The same project, its sources created for runs that a schedule starts (`serve`), not a user. */
  forSchedule(): Project {
    return Object.create(this, { sources: { value: resolveSources(this.config, { scheduled: true }) } }) as Project;
  }

  /** The sources a command names (all when none), or a config error naming the unknown one. */
  select(names: readonly string[]): ResolvedSource[] {
    if (names.length === 0) return this.sources;
    return names.map((name) => {
      const found = this.sources.find((s) => s.name === name);
      if (!found) {
        throw new ConfigError(`unknown source "${name}"`, {
          hint: this.sources.length ? `the config defines: ${this.sources.map((s) => s.name).join(', ')}` : 'add it under sources: in the config',
        });
      }
      return found;
    });
  }

  storage(): Promise<ObjectStore> {
    this.opened.storage ??= (async () => {
      const store = await this.resolvedStorage.create(this.log);
      await store.check();
      return store;
    })();
    return this.opened.storage;
  }

  warehouse(): Promise<Warehouse> {
    this.opened.warehouse ??= this.resolvedWarehouse.create(this.log);
    return this.opened.warehouse;
  }

  /** Where models build: the open warehouse's SQL target (the caller closes it). */
  async sqlTarget(): Promise<SqlTarget> {
    const warehouse = await this.warehouse();
    if (!warehouse.sqlTarget) {
      throw new ConfigError(`transform does not support the ${warehouse.type} warehouse yet`, {
        hint: 'build the models with dbt over the raw tables sluice loads, or use a warehouse that runs them',
      });
    }
    return warehouse.sqlTarget();
  }

  /** What the configured warehouse can do, known without opening it. */
  get warehouseCapabilities(): WarehouseCapabilities {
    return this.resolvedWarehouse.capabilities;
  }

  /** The configured warehouse's one-time setup script (`sluice setup`), or undefined when it needs none. */
  warehouseSetup(o: { tables: readonly TableSpec[]; options: Record<string, string> }): string | undefined {
    return this.resolvedWarehouse.setupScript?.({ storage: this.config.storage, ...o });
  }

  /** Closes the warehouse (storage stays open: it holds no lock); safe to call again. */
  async close(): Promise<void> {
    const wh = this.opened.warehouse;
    this.opened.warehouse = undefined;
    if (wh) await (await wh.catch(() => undefined))?.close();
  }
}
