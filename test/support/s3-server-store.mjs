/**
 * The disk side of the S3 test server (s3-server.mjs).
 *
 * s3rver 3.7's FilesystemStore answers a PUT (object or part) once the body has gone through its
 * hashing Transform, not once the file write has finished: the answer can go out while the last
 * bytes are still on their way to disk. A client that then completes the multipart upload (or
 * HEADs the object) reads a short file, and the object is assembled short. `storeWholly` replaces
 * those writes: each file is written to a temp file beside it, the answer waits for the write to
 * finish, and the temp file is renamed into place, so a reader sees the whole file or none of it.
 * Completing an upload also checks the parts as S3 does (ascending numbers, known ETags).
 *
 * A slow disk can be simulated to check that: with `slowDiskMs`, the first write to each file the
 * store opens under the server's folder starts that much later, and every request records whether
 * it was answered while a file it wrote was unfinished (`answeredBeforeStored`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const require = createRequire(import.meta.url);
// The very module objects s3rver uses, so that a simulated slow disk slows its own writes too.
const fromS3rver = createRequire(require.resolve('s3rver'));
const fsx = fromS3rver('fs-extra');
const S3Error = require('s3rver/lib/models/error');
const S3Object = require('s3rver/lib/models/object');

const SHARED = Symbol.for('sluice.test.s3-disk');
/**
 * One patch of s3rver's createWriteStream per process, whatever the copies of this module:
 * `folders` maps a folder with a slow disk to its delay (ms), `requests` knows which recorded
 * request (of s3-server.mjs) is being handled, for the files it writes.
 */
const shared = (() => {
  if (fsx.createWriteStream[SHARED]) return fsx.createWriteStream[SHARED];
  const state = { folders: new Map(), requests: new AsyncLocalStorage() };
  const original = fsx.createWriteStream;
  fsx.createWriteStream = Object.assign(
    function createWriteStream(file, options) {
      const stream = original.call(this, file, options);
      const rec = state.requests.getStore();
      if (rec) trackUnfinished(stream, rec);
      const folder = [...state.folders.keys()].find((dir) => String(file).startsWith(dir + path.sep));
      const ms = folder === undefined ? 0 : state.folders.get(folder)();
      if (ms > 0) delayFirstWrite(stream, ms);
      return stream;
    },
    { [SHARED]: state },
  );
  return state;
})();

/** Runs `handle` as the handling of `rec`: the files it writes are counted in `rec.unfinishedWrites`. */
export const asRequest = (rec, handle) => shared.requests.run(rec, handle);

/** Counts the request's files still being written: an answer given while one is open came too early. */
function trackUnfinished(stream, rec) {
  rec.unfinishedWrites = (rec.unfinishedWrites ?? 0) + 1;
  let open = true;
  const done = () => {
    if (open) rec.unfinishedWrites--;
    open = false;
  };
  stream.once('finish', done);
  stream.once('error', done);
  stream.once('close', done);
}

function delayFirstWrite(stream, ms) {
  let first = true;
  for (const name of ['_write', '_writev']) {
    const real = stream[name];
    if (typeof real !== 'function') continue;
    stream[name] = function (...args) {
      if (!first) return real.apply(this, args);
      first = false;
      setTimeout(() => real.apply(this, args), ms);
    };
  }
}

/** Simulates a slow disk under `dir` whenever `delayMs()` is above 0. */
export function slowDiskUnder(dir, delayMs) {
  shared.folders.set(path.resolve(dir), delayMs);
  return () => shared.folders.delete(path.resolve(dir));
}

/** Writes `content` (a stream or bytes) to `file` through a temp file beside it; resolves once it is in place. */
async function writeWhole(file, content) {
  await fsx.mkdirp(path.dirname(file));
  const temp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    await pipeline(
      Buffer.isBuffer(content) ? Readable.from([content]) : content,
      async function* count(source) {
        for await (const chunk of source) {
          md5.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      fsx.createWriteStream(temp),
    );
    await fs.promises.rename(temp, file);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
  return { size, md5: md5.digest('hex') };
}

/** A small file (checksum, metadata) in one write, also renamed into place. */
async function writeSmall(file, text) {
  const temp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  await fs.promises.writeFile(temp, text);
  await fs.promises.rename(temp, file);
}

/**
 * Makes an s3rver FilesystemStore answer only once what it stores is whole on disk (see the top
 * of this file). Reads, listings and deletes stay s3rver's.
 */
export function storeWholly(store) {
  const uploadDir = (bucket, uploadId) => path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const noSuchUpload = () =>
    new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');

  store.putMetadata = async (bucket, key, metadata, md5) => {
    const json = Object.fromEntries(Object.entries(metadata).filter(([k]) => S3Object.ALLOWED_METADATA.includes(k) || k.startsWith('x-amz-meta-')));
    if (md5) await writeSmall(store.getResourcePath(bucket, key, 'object.md5'), md5);
    await writeSmall(store.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(json, null, 2));
  };

  store.putObject = async (object) => {
    const { size, md5 } = await writeWhole(store.getResourcePath(object.bucket, object.key, 'object'), object.content);
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size, md5 };
  };

  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const dir = uploadDir(bucket, uploadId);
    // S3 refuses a part for an upload it does not know (never started, aborted or completed).
    if (!fs.existsSync(path.join(dir, 'key'))) {
      content.resume?.();
      throw noSuchUpload();
    }
    const part = path.join(dir, String(Number(partNumber)));
    const { size, md5 } = await writeWhole(part, content);
    await writeSmall(`${part}.md5`, md5);
    return { size, md5 };
  };

  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const dir = uploadDir(bucket, uploadId);
    let key;
    let metadata;
    try {
      key = await fs.promises.readFile(path.join(dir, 'key'), 'utf8');
      metadata = JSON.parse(await fs.promises.readFile(path.join(dir, 'metadata'), 'utf8'));
    } catch (error) {
      if (error.code === 'ENOENT') throw noSuchUpload();
      throw error;
    }
    // As S3: parts listed in ascending order, each one uploaded with the ETag given.
    for (let i = 1; i < parts.length; i++) {
      if (parts[i].number <= parts[i - 1].number) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order.');
    }
    for (const part of parts) {
      const md5 = await fs.promises.readFile(path.join(dir, `${part.number}.md5`), 'utf8').catch(() => undefined);
      if (md5 === undefined || md5 !== part.etag) {
        throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found or its entity tag did not match.');
      }
    }
    async function* concatenated() {
      for (const part of parts) yield* fs.createReadStream(path.join(dir, String(part.number)));
    }
    const result = await store.putObject(new S3Object(bucket, key, Readable.from(concatenated()), metadata));
    await fs.promises.rm(dir, { recursive: true, force: true });
    return result;
  };
  return store;
}
