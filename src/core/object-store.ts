import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
  /** An opaque token that changes whenever the object's bytes change (ETag, mtime…). */
  version: string;
}

export interface PutResult extends StoredObject {
  sha256: string;
}

/**
 * Where batches live for good (DESIGN §1). Keys are relative to the store's own prefix and use `/`.
 * A plug-in implements this in its own folder; the pipeline never knows which one it has.
 */
export interface ObjectStore {
  readonly type: string;
  /** Human description for messages: "local folder /data/lake", "s3://bucket/prefix". */
  readonly location: string;
  /** How many uploads sync may run at once against this store (default 8). */
  readonly uploadConcurrency?: number;
  /** Throws a `storage_unreachable` error when the store cannot be used at all. */
  check(): Promise<void>;
  /** Every object under a key prefix, in no particular order. Temporary files are never listed. */
  list(prefix: string): AsyncIterable<StoredObject>;
  head(key: string): Promise<StoredObject | undefined>;
  /** Uploads a local file, verified against its size and sha256 before it becomes visible. */
  putFile(key: string, file: string, expected: { size: number; sha256: string }): Promise<PutResult>;
  /**
   * Makes a local file the object by renaming it, when the store is a folder on the file's
   * filesystem: atomic, and the bytes are the file's own, so there is nothing to verify and no
   * moment when they are in neither place. Resolves false, the file untouched, when it cannot
   * (another filesystem): `putFile` then copies it.
   */
  moveFile?(key: string, file: string): Promise<boolean>;
  /** Writes a small object atomically (checkpoints). */
  putBytes(key: string, bytes: Buffer): Promise<void>;
  getBytes(key: string): Promise<Buffer | undefined>;
  /** The sha256 of an object's bytes, for skip-if-same decisions. */
  sha256(key: string): Promise<string>;
  openRead(key: string): Readable;
  /** When the object is a plain local file, its path, so a warehouse can read it directly. */
  localPath?(key: string): string;
  delete(key: string): Promise<void>;
  /** Removes temporary files a killed run left behind; returns how many. */
  cleanup(): Promise<number>;
}

/** A store that is a folder on this machine (landing, local storage): writers may put files in it directly. */
export interface LocalFolder extends ObjectStore {
  readonly root: string;
  localPath(key: string): string;
}
