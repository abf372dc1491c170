import fs from 'node:fs';
import { pipeline } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SluiceError } from '../core/errors.js';

const CHUNK = 256 * 1024;
const NL = 0x0a;

/** Files up to this size are read and decompressed in one call: the common small batch skips stream overhead. */
const WHOLE_FILE_MAX = 1024 * 1024;
const gunzip = promisify(zlib.gunzip);

/**
 * The decompressed chunks of a gzip file (several gzip members read as one, like `gunzip`).
 * Memory stays bounded whatever the batch size: a large file is streamed chunk by chunk.
 */
export async function* gunzipChunks(file: string): AsyncGenerator<Buffer> {
  const { size } = await fs.promises.stat(file);
  if (size === 0) return; // no bytes, no lines (gzip itself would call it truncated)
  if (size <= WHOLE_FILE_MAX) {
    yield await gunzip(await fs.promises.readFile(file));
    return;
  }
  // pipeline() passes a read error (or a corrupt gzip) on to the stream we iterate.
  yield* pipeline(fs.createReadStream(file, { highWaterMark: CHUNK }), zlib.createGunzip({ chunkSize: CHUNK }), () => {}) as unknown as AsyncIterable<Buffer>;
}

/**
 * Cuts decompressed chunks into lines numbered from 1 as they stand in the file (a line may span
 * chunks; only that line is copied to join it). A last line without a newline still counts.
 */
export class LineSplitter {
  #n = 0;
  #parts: Buffer[] = [];

  push(chunk: Buffer, onLine: (n: number, line: Buffer) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(NL); nl !== -1; nl = chunk.indexOf(NL, start)) {
      const piece = chunk.subarray(start, nl);
      onLine(++this.#n, this.#parts.length ? Buffer.concat([...this.#parts, piece]) : piece);
      this.#parts = [];
      start = nl + 1;
    }
    if (start < chunk.length) this.#parts.push(chunk.subarray(start));
  }

  end(onLine: (n: number, line: Buffer) => void): void {
    if (this.#parts.length) onLine(++this.#n, Buffer.concat(this.#parts));
    this.#parts = [];
  }
}

/** A batch file that cannot be read as gzip JSON Lines: the group fails, the user restores the file. */
export function unreadableBatch(key: string, error: unknown): SluiceError {
  return new SluiceError('data', `batch ${key} cannot be read as gzip JSON Lines: ${(error as Error).message}`, {
    hint: 'the file in storage is damaged: restore it, or delete it and fetch its hour again',
    context: { batch: key },
    cause: error,
  });
}
