import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { tempPathFor } from '../../core/fs/temp-files.js';

/** What a child stream needs of one parent record: the values for `{field}`, and the key's exact text. */
export interface ParentRow {
  vars: Record<string, string | undefined>;
  /** `[field, JSON text]` for each field of the parent's primary key. */
  key: Array<[string, string]>;
}

/** Rows kept in memory before they go to disk, and handed to a child's reader at once. */
export const PARENT_ROWS_IN_MEMORY = 5000;

/**
 * The parent records one run read, in order, for its child streams. A parent of a million records
 * would hold hundreds of MB as objects: past `limit` rows they are appended to a scratch file (one
 * JSON line each) and read back in chunks, so memory stays flat. Small parents never touch disk.
 * The file has a temp name that says whose it is, so a later run sweeps it if this one is killed.
 */
export class ParentRows {
  readonly #dir: string;
  readonly #name: string;
  readonly #limit: number;
  #memory: ParentRow[] = [];
  #file: string | undefined;
  #spilled = 0;

  constructor(o: { dir: string | undefined; stream: string; limit?: number }) {
    this.#dir = o.dir ?? os.tmpdir();
    this.#name = o.stream;
    this.#limit = o.limit ?? PARENT_ROWS_IN_MEMORY;
  }

  get length(): number {
    return this.#spilled + this.#memory.length;
  }

  /** The file rows were spilled to, if any. */
  get file(): string | undefined {
    return this.#file;
  }

  async push(row: ParentRow): Promise<void> {
    this.#memory.push(row);
    if (this.#memory.length >= this.#limit) await this.#spill();
  }

  async #spill(): Promise<void> {
    if (!this.#file) {
      await fs.promises.mkdir(this.#dir, { recursive: true });
      this.#file = tempPathFor(path.join(this.#dir, `${this.#name}.parents.jsonl`));
    }
    const text = `${this.#memory.map((r) => JSON.stringify(r)).join('\n')}\n`;
    await fs.promises.appendFile(this.#file, text);
    this.#spilled += this.#memory.length;
    this.#memory = [];
  }

  /** Every row in the order pushed, at most `limit` at a time. */
  async *chunks(): AsyncGenerator<readonly ParentRow[]> {
    if (this.#file && this.#spilled > 0) {
      const input = fs.createReadStream(this.#file);
      try {
        let chunk: ParentRow[] = [];
        for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
          if (line === '') continue;
          chunk.push(JSON.parse(line) as ParentRow);
          if (chunk.length >= this.#limit) {
            yield chunk;
            chunk = [];
          }
        }
        if (chunk.length) yield chunk;
      } finally {
        input.destroy();
      }
    }
    if (this.#memory.length) yield this.#memory;
  }

  /** Removes the scratch file; the rows are gone. */
  async dispose(): Promise<void> {
    this.#memory = [];
    this.#spilled = 0;
    const file = this.#file;
    this.#file = undefined;
    if (file) await fs.promises.rm(file, { force: true });
  }
}
