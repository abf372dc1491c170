import path from 'node:path';
import type { SluiceConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ObjectStore } from '../core/object-store.js';
import type { Warehouse } from '../core/warehouse.js';
import { createStorage, createWarehouse, type ResolvedSource, resolveSources, tempDirOf } from '../plugins.js';
import { LocalStore } from '../storage/local/index.js';

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
  readonly landing: LocalStore;
  /** Scratch files of a run (downloads, load copies): a killed run's are swept by the next. */
  readonly tempDir: string;
  /** Shared by every `withLog` view (an own object, so a view's assignments reach the project). */
  private readonly opened: { storage?: Promise<ObjectStore>; warehouse?: Promise<Warehouse> } = {};

  constructor(config: SluiceConfig, log: Logger) {
    this.config = config;
    this.log = log;
    this.sources = resolveSources(config);
    this.landing = new LocalStore(path.join(config.stateDir, 'landing'));
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
      const store = await createStorage(this.config, this.log);
      await store.check();
      return store;
    })();
    return this.opened.storage;
  }

  warehouse(): Promise<Warehouse> {
    this.opened.warehouse ??= createWarehouse(this.config, this.log);
    return this.opened.warehouse;
  }

  /** Closes the warehouse (storage stays open: it holds no lock); safe to call again. */
  async close(): Promise<void> {
    const wh = this.opened.warehouse;
    this.opened.warehouse = undefined;
    if (wh) await (await wh.catch(() => undefined))?.close();
  }
}
