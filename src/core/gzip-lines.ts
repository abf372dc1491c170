import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * What counts as a line of a batch (DESIGN §2: one record per line): a line holding anything but
 * JSON whitespace. Blank lines are neither loaded nor rejected; the loads, `status`'s
 * reconciliation and the Amplitude archive check all count by this one rule.
 */
const NL = 0x0a;
const isSpace = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0d;

/** True when bytes [start, end) of `chunk` hold something other than JSON whitespace. */
function hasContent(chunk: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpace(chunk[i])) return true;
  return false;
}

/** JSON whitespace only (or nothing): a blank line. */
export const isBlank = (line: Buffer): boolean => !hasContent(line, 0, line.length);

/** Counts non-blank lines of decompressed data pushed chunk by chunk (a line may span chunks). */
export class LineCounter {
  #count = 0;
  /** The line in progress has content. */
  #content = false;

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NL); nl !== -1; nl = chunk.indexOf(NL, start)) {
      if (this.#content || hasContent(chunk, start, nl)) this.#count++;
      this.#content = false;
      start = nl + 1;
    }
    if (!this.#content && start < chunk.length) this.#content = hasContent(chunk, start, chunk.length);
  }

  /** The count so far, a last line without its newline included. */
  get count(): number {
    return this.#count + (this.#content ? 1 : 0);
  }
}

/** Non-blank lines of a gzip JSON Lines stream, read as a stream so memory stays flat however large the batch. */
export async function countGzipLines(input: Readable): Promise<number> {
  const counter = new LineCounter();
  const gunzip = input.pipe(createGunzip());
  input.on('error', (e) => gunzip.destroy(e));
  for await (const chunk of gunzip as AsyncIterable<Buffer>) counter.push(chunk);
  return counter.count;
}
