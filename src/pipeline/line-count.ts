import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { tempPathFor } from '../core/temp-files.js';

const NL = 10;
/** Bytes that do not make a line count: DuckDB and PostgreSQL loads skip blank lines too. */
const BLANK = new Set([0x20, 0x09, 0x0d]);

/**
 * Non-blank lines of a gzip JSON Lines stream, read as a stream so memory stays flat however
 * large the batch.
 */
export async function countGzipLines(input: Readable): Promise<number> {
  let lines = 0;
  let content = false;
  const gunzip = input.pipe(createGunzip());
  input.on('error', (e) => gunzip.destroy(e));
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (b === NL) {
        if (content) lines++;
        content = false;
      } else if (!content && !BLANK.has(b)) {
        content = true;
      }
    }
  }
  return content ? lines + 1 : lines;
}

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
