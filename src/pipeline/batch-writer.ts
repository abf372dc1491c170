import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { floorHour } from '../core/hours.js';
import type { SourceRecord } from '../core/source.js';
import { batchKey } from '../storage/layout.js';
import { tempPathFor } from '../storage/local/atomic.js';

interface OpenBatch {
  key: string;
  tmp: string;
  input: PassThrough;
  done: Promise<void>;
  rows: number;
}

export interface LandedBatch {
  key: string;
  rows: number;
}

/**
 * Writes one stream's records into landing as one gzip JSON Lines batch per hour touched
 * (DESIGN §2), each under a temp name until `commit` renames them all. Memory stays flat: lines
 * stream through gzip to disk.
 */
export class BatchWriter {
  readonly #open = new Map<number, OpenBatch>();
  readonly #root: string;
  readonly #source: string;
  readonly #stream: string;
  readonly #part: string;
  readonly #fallbackHour: number;

  constructor(o: { landingRoot: string; source: string; stream: string; part: string; nowMs: number }) {
    this.#root = o.landingRoot;
    this.#source = o.source;
    this.#stream = o.stream;
    this.#part = o.part;
    this.#fallbackHour = floorHour(o.nowMs);
  }

  async write(records: readonly SourceRecord[]): Promise<void> {
    for (const r of records) {
      const batch = this.#batchFor(r.timeMs === undefined ? this.#fallbackHour : floorHour(r.timeMs));
      batch.rows++;
      if (!batch.input.write(`${r.line}\n`)) await new Promise((resolve) => batch.input.once('drain', resolve));
    }
  }

  /** An hour with no records that must still exist as a batch (a complete, empty window hour). */
  touch(hourMs: number): void {
    this.#batchFor(floorHour(hourMs));
  }

  #batchFor(hourMs: number): OpenBatch {
    let b = this.#open.get(hourMs);
    if (!b) {
      const key = batchKey(this.#source, this.#stream, hourMs, this.#part);
      const target = path.join(this.#root, key);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const tmp = tempPathFor(target);
      const input = new PassThrough();
      const done = pipeline(input, createGzip({ level: 3 }), fs.createWriteStream(tmp));
      done.catch(() => {}); // surfaced by commit()
      b = { key, tmp, input, done, rows: 0 };
      this.#open.set(hourMs, b);
    }
    return b;
  }

  /** Finishes every batch and moves it to its final name; returns what was landed. */
  async commit(): Promise<LandedBatch[]> {
    const batches = [...this.#open.values()];
    for (const b of batches) b.input.end();
    await Promise.all(batches.map((b) => b.done));
    const out: LandedBatch[] = [];
    for (const b of batches.sort((a, c) => a.key.localeCompare(c.key))) {
      await fs.promises.rename(b.tmp, path.join(this.#root, b.key));
      out.push({ key: b.key, rows: b.rows });
    }
    this.#open.clear();
    return out;
  }

  /** Drops every unfinished batch (the run failed before its records could be committed). */
  async abort(): Promise<void> {
    for (const b of this.#open.values()) {
      b.input.destroy();
      await b.done.catch(() => {});
      await fs.promises.rm(b.tmp, { force: true });
    }
    this.#open.clear();
  }
}
