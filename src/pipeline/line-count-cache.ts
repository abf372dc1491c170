import fs from 'node:fs';
import path from 'node:path';
import { tempPathFor } from '../core/fs/temp-files.js';

type CacheEntry = { version: string; lines: number };

/**
 * Line counts of immutable batches, remembered by key and version in the state dir so that
 * `status` reads each batch once, not on every call.
 */
export class LineCountCache {
  readonly #file: string;
  #entries: Record<string, CacheEntry> = {};
  #dirty = false;

  constructor(stateDir: string) {
    this.#file = path.join(stateDir, 'cache', 'line-counts.json');
  }

  async open(): Promise<this> {
    try {
      this.#entries = JSON.parse(await fs.promises.readFile(this.#file, 'utf8')) as Record<string, CacheEntry>;
    } catch {
      this.#entries = {}; // none yet, or cut by a crash: counting again is always safe
    }
    return this;
  }

  get(key: string, version: string): number | undefined {
    const e = this.#entries[key];
    return e && e.version === version ? e.lines : undefined;
  }

  set(key: string, version: string, lines: number): void {
    this.#entries[key] = { version, lines };
    this.#dirty = true;
  }

  /** Forgets keys under the prefixes looked at that were not seen (deleted batches); writes atomically. */
  async save(prefixes: readonly string[], seen: ReadonlySet<string>): Promise<void> {
    for (const k of Object.keys(this.#entries)) {
      if (prefixes.some((p) => k.startsWith(p)) && !seen.has(k)) {
        delete this.#entries[k];
        this.#dirty = true;
      }
    }
    if (!this.#dirty) return;
    await fs.promises.mkdir(path.dirname(this.#file), { recursive: true });
    const tmp = tempPathFor(this.#file);
    await fs.promises.writeFile(tmp, JSON.stringify(this.#entries));
    await fs.promises.rename(tmp, this.#file);
  }
}
