import { once } from 'node:events';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import yauzl from 'yauzl';
import { SluiceError } from '../../core/errors.js';
import { LineCounter } from '../../core/gzip-lines.js';
import type { Range } from './ranges.js';

export interface HourPart {
  name: string;
  hourMs: number;
  part: string;
  entry: yauzl.Entry;
}

export interface OpenArchive {
  /** The parts of each hour, hours ascending, parts in their `#n` order. */
  hours: Map<number, HourPart[]>;
  open(part: HourPart): Promise<Readable>;
  /** Closes the file; closing again does nothing. */
  close(): void;
}

// {project}/{project}_{YYYY-MM-DD}_{H}#{n}.json.gz — `n` is opaque (starts at 0 in some exports, 1 in others).
const ENTRY = /^(\d+)\/(\d+)_(\d{4}-\d{2}-\d{2})_(\d{1,2})#(\d+)\.json\.gz$/;

export const hostile = (message: string, cause?: unknown) =>
  new SluiceError('data', `refused the export archive: ${message}`, {
    hint: 'nothing was landed for this range; if it persists, report it to Amplitude (the next run asks again)',
    retryable: true,
    ...(cause === undefined ? {} : { cause }),
  });

/** How much of an entry one read takes. */
const READ_CHUNK = 256 * 1024;

/**
 * The archive's file as yauzl reads it, in large reads: its own reader takes 16 KiB at a time, and
 * the check and the landing each read every entry, so a fetch spent more of its time in read calls
 * and stream chunks than in inflating.
 */
class ArchiveFile extends yauzl.RandomAccessReader {
  constructor(readonly file: fs.promises.FileHandle) {
    super();
  }
  // Not fs.createReadStream: destroying one closes its fd, which every entry's stream shares.
  override _readStreamForRange(start: number, end: number): Readable {
    const fd = this.file.fd;
    let position = start;
    return new Readable({
      highWaterMark: READ_CHUNK,
      read() {
        const length = Math.min(READ_CHUNK, end - position);
        if (length <= 0) {
          this.push(null);
          return;
        }
        fs.read(fd, Buffer.allocUnsafe(length), 0, length, position, (e, n, buffer) => {
          if (e || n === 0) {
            this.destroy(e ?? new Error('unexpected end of file'));
            return;
          }
          position += n;
          this.push(n < length ? buffer.subarray(0, n) : buffer);
        });
      },
    });
  }
  // The headers: small reads, straight from the file. yauzl checks the count read against the length.
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    fs.read(this.file.fd, buffer, offset, length, position, callback);
  }
  override close(callback: (err: Error | null) => void): void {
    this.file.close().then(() => callback(null), callback);
  }
}

/**
 * Opens a downloaded export and checks every entry before anything is read: names must be the
 * documented pattern (no `..`, no absolute paths), hours inside the requested range, sizes sane.
 */
export async function openArchive(file: string, range: Range, maxEntryBytes: number): Promise<OpenArchive> {
  const handle = await fs.promises.open(file, 'r');
  let zip: yauzl.ZipFile;
  try {
    const { size } = await handle.stat();
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.fromRandomAccessReader(
        new ArchiveFile(handle),
        size,
        { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true },
        (e, z) => (e ? reject(e) : resolve(z)),
      ),
    );
  } catch (error) {
    await handle.close();
    throw hostile(`not a readable zip (${(error as Error).message})`, error);
  }
  const hours = new Map<number, HourPart[]>();
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', resolve);
      zip.on('entry', (entry: yauzl.Entry) => {
        try {
          const part = checkEntry(entry, range, maxEntryBytes);
          if (part) hours.set(part.hourMs, [...(hours.get(part.hourMs) ?? []), part]);
          zip.readEntry();
        } catch (error) {
          reject(error);
        }
      });
      zip.readEntry();
    });
  } catch (error) {
    zip.close();
    throw error instanceof SluiceError ? error : hostile(`corrupt zip (${(error as Error).message})`, error);
  }
  for (const parts of hours.values()) parts.sort((a, b) => Number(a.part) - Number(b.part) || a.name.localeCompare(b.name));
  let closed = false;
  return {
    hours: new Map([...hours].sort(([a], [b]) => a - b)),
    open: (part) =>
      new Promise<Readable>((resolve, reject) =>
        zip.openReadStream(part.entry, (e, s) => (e ? reject(hostile(`corrupt entry ${part.name} (${e.message})`, e)) : resolve(s))),
      ),
    close: () => {
      if (!closed) zip.close();
      closed = true;
    },
  };
}

function checkEntry(entry: yauzl.Entry, range: Range, maxEntryBytes: number): HourPart | undefined {
  const name = entry.fileName;
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name) || name.includes('\\') || name.split('/').includes('..')) {
    throw hostile(`entry "${name}" points outside the archive`);
  }
  if (name.endsWith('/')) return undefined; // the project folder itself
  const m = ENTRY.exec(name);
  if (!m || m[1] !== m[2]) throw hostile(`unexpected entry "${name}" (expected {project}/{project}_YYYY-MM-DD_H#n.json.gz)`);
  const hour = Number(m[4]);
  const hourMs = Date.parse(`${m[3]}T${String(hour).padStart(2, '0')}:00:00Z`);
  if (hour > 23 || Number.isNaN(hourMs)) throw hostile(`entry "${name}" names no valid hour`);
  if (hourMs < range.startMs || hourMs > range.endMs) throw hostile(`entry "${name}" is outside the requested hours`);
  if (entry.isEncrypted()) throw hostile(`entry "${name}" is encrypted`);
  if (entry.uncompressedSize > maxEntryBytes) throw hostile(`entry "${name}" is ${entry.uncompressedSize} bytes, over the limit`);
  return { name, hourMs, part: m[5] as string, entry };
}

export interface GzipCheck {
  bytesOut: number;
  /** Non-blank lines (core/gzip-lines.ts): the records the entry holds. */
  lines: number;
  /** The last decompressed byte (10 = the data ends with a newline). */
  lastByte: number;
}

const RATIO_FLOOR = 64 * 2 ** 20;
const INFLATE_CHUNK = 64 * 1024;

/**
 * Inflates an entry to check it, keeping nothing: a corrupt gzip, a bomb (too many bytes, or too
 * high a ratio) throws. Returns what the inflated data held.
 */
export async function checkGzip(input: Readable, name: string, limits: { maxBytes: number; maxRatio: number }): Promise<GzipCheck> {
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
  const check: GzipCheck = { bytesOut: 0, lines: 0, lastByte: 10 };
  const counter = new LineCounter();
  let bytesIn = 0;
  let failure: Error | undefined;
  gunzip.on('data', (d: Buffer) => {
    check.bytesOut += d.length;
    check.lastByte = d[d.length - 1] ?? check.lastByte;
    counter.push(d);
    if (check.bytesOut > limits.maxBytes || (check.bytesOut > RATIO_FLOOR && check.bytesOut > limits.maxRatio * Math.max(bytesIn, 1))) {
      gunzip.destroy(hostile(`entry "${name}" inflates to more than ${check.bytesOut} bytes (a zip bomb?)`));
    }
  });
  const ended = new Promise<void>((resolve) => {
    gunzip.on('end', resolve);
    gunzip.on('close', resolve);
    gunzip.on('error', (e) => {
      failure ??= e;
      resolve();
    });
  });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (failure) break;
      bytesIn += chunk.length;
      if (!gunzip.write(chunk)) await Promise.race([once(gunzip, 'drain'), ended]);
    }
    if (!failure) gunzip.end();
    await ended;
  } catch (error) {
    failure ??= error as Error;
  } finally {
    input.destroy();
  }
  if (failure) throw failure instanceof SluiceError ? failure : hostile(`entry "${name}" is not valid gzip (${failure.message})`, failure);
  check.lines = counter.count;
  return check;
}

/** Every entry of an opened archive checked (see checkGzip), by entry name. */
export async function checkArchive(archive: OpenArchive, limits: { maxBytes: number; maxRatio: number }): Promise<Map<string, GzipCheck>> {
  const checks = new Map<string, GzipCheck>();
  for (const parts of archive.hours.values()) for (const part of parts) checks.set(part.name, await checkGzip(await archive.open(part), part.name, limits));
  return checks;
}
