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
  /** Lines to gzip, or gzip bytes as they came (raw): one batch is one or the other. */
  input: PassThrough;
  raw: boolean;
  done: Promise<void>;
  rows: number;
  /** Lines not yet handed to gzip: one zlib call per ~64 KB, not one per line. */
  pending: string[];
  pendingChars: number;
}

const FLUSH_CHARS = 64 * 1024;

export interface LandedBatch {
  key: string;
  rows: number;
}

/**
 * Writes one stream's data into landing as one gzip JSON Lines batch per hour (DESIGN §2), each
 * under a temp name until it is committed (renamed). Memory stays flat: bytes stream to disk.
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
      const batch = this.#batchFor(r.timeMs === undefined ? this.#fallbackHour : floorHour(r.timeMs), false);
      batch.rows++;
      batch.pending.push(r.line, '\n');
      batch.pendingChars += r.line.length + 1;
      if (batch.pendingChars >= FLUSH_CHARS) await flush(batch);
    }
  }

  /** Appends gzip bytes as they are: concatenated gzip members are one valid gzip file. */
  async writeRaw(hourMs: number, gzip: Buffer): Promise<void> {
    const batch = this.#batchFor(floorHour(hourMs), true);
    if (!batch.input.write(gzip)) await new Promise((resolve) => batch.input.once('drain', resolve));
  }

  #batchFor(hourMs: number, raw: boolean): OpenBatch {
    let b = this.#open.get(hourMs);
    if (!b) {
      const key = batchKey(this.#source, this.#stream, hourMs, this.#part);
      const target = path.join(this.#root, key);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const tmp = tempPathFor(target);
      const input = new PassThrough();
      const done = raw ? pipeline(input, fs.createWriteStream(tmp)) : pipeline(input, createGzip({ level: 3 }), fs.createWriteStream(tmp));
      done.catch(() => {}); // surfaced by commit()
      b = { key, tmp, input, raw, done, rows: 0, pending: [], pendingChars: 0 };
      this.#open.set(hourMs, b);
    }
    if (b.raw !== raw) throw new Error(`batch ${b.key} mixes records and raw gzip`);
    return b;
  }

  /**
   * Finishes batches and moves them to their final names (replacing an older batch of the same
   * name). With `hours`, only those, and an hour that got nothing becomes an empty batch (a
   * complete hour with no data); without, every open batch.
   */
  async commit(hours?: readonly number[]): Promise<LandedBatch[]> {
    const chosen = hours ? hours.map((h) => this.#batchFor(floorHour(h), this.#open.get(floorHour(h))?.raw ?? false)) : [...this.#open.values()];
    for (const b of chosen) {
      await flush(b);
      b.input.end();
    }
    await Promise.all(chosen.map((b) => b.done));
    const out: LandedBatch[] = [];
    for (const b of chosen.sort((a, c) => a.key.localeCompare(c.key))) {
      await fs.promises.rename(b.tmp, path.join(this.#root, b.key));
      out.push({ key: b.key, rows: b.rows });
    }
    for (const [hour, b] of this.#open) if (chosen.includes(b)) this.#open.delete(hour);
    return out;
  }

  /** Drops unfinished batches: those of `hours`, or all (the run failed before committing them). */
  async discard(hours?: readonly number[]): Promise<void> {
    const chosen = hours ? hours.map((h) => floorHour(h)).filter((h) => this.#open.has(h)) : [...this.#open.keys()];
    for (const hour of chosen) {
      const b = this.#open.get(hour) as OpenBatch;
      this.#open.delete(hour);
      b.input.destroy();
      await b.done.catch(() => {});
      await fs.promises.rm(b.tmp, { force: true });
    }
  }
}

async function flush(batch: OpenBatch): Promise<void> {
  if (batch.pending.length === 0) return;
  const text = batch.pending.join('');
  batch.pending = [];
  batch.pendingChars = 0;
  if (!batch.input.write(text)) await new Promise((resolve) => batch.input.once('drain', resolve));
}
