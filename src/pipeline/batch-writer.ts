import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { tempPathFor } from '../core/fs/temp-files.js';
import { floorHour } from '../core/hours.js';
import type { SourceRecord } from '../core/source.js';
import { batchKey } from '../storage/layout.js';

interface OpenBatch {
  key: string;
  tmp: string;
  /** Lines to gzip, or gzip bytes as they came (raw): one batch is one or the other. */
  input: PassThrough;
  raw: boolean;
  done: Promise<void>;
  rows: number;
  /** Lines not yet handed to gzip, as bytes: one zlib call per 64 KB, not one per line. */
  pending: Buffer | undefined;
  pendingBytes: number;
}

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

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
      await append(batch, r.line);
    }
  }

  /** Appends gzip bytes as they are: concatenated gzip members are one valid gzip file. */
  async writeRaw(hourMs: number, gzip: Buffer): Promise<void> {
    const batch = this.#batchFor(floorHour(hourMs), true);
    await write(batch, gzip);
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
      b = { key, tmp, input, raw, done, rows: 0, pending: undefined, pendingBytes: 0 };
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

/** Copies one line and its newline into the batch's pending chunk, handing full chunks to gzip. */
async function append(batch: OpenBatch, line: string | Buffer): Promise<void> {
  const size = (typeof line === 'string' ? Buffer.byteLength(line) : line.length) + 1;
  if (batch.pendingBytes + size > CHUNK) await flush(batch);
  if (size > CHUNK) {
    // A line longer than a chunk goes to gzip on its own.
    await write(batch, Buffer.concat([typeof line === 'string' ? Buffer.from(line) : line, Buffer.of(NEWLINE)]));
    return;
  }
  batch.pending ??= Buffer.allocUnsafeSlow(CHUNK);
  const at = batch.pendingBytes;
  if (typeof line === 'string') batch.pending.write(line, at);
  else line.copy(batch.pending, at);
  batch.pending[at + size - 1] = NEWLINE;
  batch.pendingBytes += size;
}

async function flush(batch: OpenBatch): Promise<void> {
  const chunk = batch.pending;
  if (!chunk || batch.pendingBytes === 0) return;
  const bytes = batch.pendingBytes;
  // gzip holds the chunk until it has compressed it: the next lines go into a new one.
  batch.pending = undefined;
  batch.pendingBytes = 0;
  await write(batch, chunk.subarray(0, bytes));
}

async function write(batch: OpenBatch, bytes: Buffer): Promise<void> {
  if (!batch.input.write(bytes)) await new Promise((resolve) => batch.input.once('drain', resolve));
}
