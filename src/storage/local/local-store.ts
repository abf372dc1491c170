import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/fs/atomic-write.js';
import { sha256File } from '../../core/fs/sha256-file.js';
import { removeTempFiles, tempPathFor } from '../../core/fs/temp-files.js';
import { walkFiles } from '../../core/fs/walk-files.js';
import type { ObjectStore, PutResult, StoredObject } from '../../core/object-store.js';
import { mapPool } from '../../core/pool.js';

/** Listing: files stat'ed at once, out of chunks of this many (see `list`). */
const STATS_AT_ONCE = 32;
const LIST_CHUNK = 512;

/** A folder on this machine laid out exactly like the bucket would be (DESIGN §2). */
export class LocalStore implements ObjectStore {
  readonly type = 'local';
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get location(): string {
    return `local folder ${this.root}`;
  }

  #path(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new SluiceError('internal', `bad storage key ${key}`);
    return path.join(this.root, ...key.split('/'));
  }

  async check(): Promise<void> {
    try {
      await fs.promises.mkdir(this.root, { recursive: true });
      await fs.promises.access(this.root, fs.constants.W_OK);
    } catch (error) {
      throw new SluiceError('storage_unreachable', `cannot write to ${this.location}: ${(error as Error).message}`, {
        hint: 'check storage.path and its permissions',
        cause: error,
      });
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const dir = prefix.endsWith('/') ? prefix.slice(0, -1) : path.posix.dirname(prefix);
    const start = dir === '.' ? '' : dir;
    // Files are stat'ed a chunk at a time, many at once: one after another, a lake of hourly
    // batches spends its listing waiting on round trips to the file system.
    let chunk: string[] = [];
    const heads = (keys: string[]) => mapPool(keys, STATS_AT_ONCE, (key) => this.head(key));
    for await (const rel of walkFiles(this.root, start)) {
      if (!rel.startsWith(prefix)) continue;
      chunk.push(rel);
      if (chunk.length < LIST_CHUNK) continue;
      for await (const object of heads(chunk)) if (object) yield object;
      chunk = [];
    }
    for await (const object of heads(chunk)) if (object) yield object;
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const st = await fs.promises.stat(this.#path(key));
      return { key, size: st.size, version: `${st.size}-${Math.round(st.mtimeMs)}` };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async putFile(key: string, file: string, expected: { size: number; sha256: string }): Promise<PutResult> {
    const target = this.#path(key);
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const tmp = tempPathFor(target);
    try {
      await fs.promises.copyFile(file, tmp);
      const written = await sha256File(tmp); // verify what is on disk, not what we meant to write
      if (written.size !== expected.size || written.sha256 !== expected.sha256) {
        throw new SluiceError('integrity', `copy of ${key} does not match its source (size ${written.size} vs ${expected.size})`, {
          retryable: true,
          hint: 'run sync again; if it persists, check the disk',
        });
      }
      const fh = await fs.promises.open(tmp, 'r+');
      await fh.sync();
      await fh.close();
      await fs.promises.rename(tmp, target);
    } catch (error) {
      await fs.promises.rm(tmp, { force: true });
      throw error;
    }
    const head = (await this.head(key)) as StoredObject;
    return { ...head, sha256: expected.sha256 };
  }

  async moveFile(key: string, file: string): Promise<boolean> {
    const target = this.#path(key);
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    // The bytes reach the disk before the name that says they are stored, as putFile's copy does.
    const fh = await fs.promises.open(file, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.promises.rename(file, target);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EXDEV') return false;
      throw error;
    }
  }

  async putBytes(key: string, bytes: Buffer): Promise<void> {
    await writeFileAtomic(this.#path(key), bytes);
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.promises.readFile(this.#path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async sha256(key: string): Promise<string> {
    return (await sha256File(this.#path(key))).sha256;
  }

  openRead(key: string): fs.ReadStream {
    return fs.createReadStream(this.#path(key));
  }

  localPath(key: string): string {
    return this.#path(key);
  }

  async delete(key: string): Promise<void> {
    await fs.promises.rm(this.#path(key), { force: true });
  }

  cleanup(): Promise<number> {
    return removeTempFiles(this.root);
  }
}
