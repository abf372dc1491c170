import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { SluiceError } from '../../core/errors.js';
import type { ObjectStore, PutResult, StoredObject } from '../../core/object-store.js';
import { ByteBudget } from './byte-budget.js';
import type { S3StorageConfig } from './config.js';
import { FastPut } from './fast-put.js';
import { isNotFound, type S3Where, s3Error } from './s3-errors.js';
import { putMultipart, putVerified, SHA256_METADATA, type UploadTarget } from './s3-upload.js';

const MIB = 1024 * 1024;
/** Bytes of file contents held in memory by uploads at once, whatever the concurrency. */
const MEMORY_BUDGET = 256 * MIB;
/** A multipart upload older than this was left by a killed run (no upload takes a day). */
const STALE_UPLOAD_MS = 24 * 3_600_000;

/** `raw` → `raw/`; `/raw/` → `raw/`; '' stays ''. */
export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

const present = (s: { reveal(): string } | undefined) => (s && s.reveal() !== '' ? s.reveal() : undefined);

/** An S3 bucket (or any S3-compatible service), laid out as DESIGN §2 says. */
export class S3Store implements ObjectStore {
  readonly type = 's3';
  readonly location: string;
  readonly uploadConcurrency: number;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #endpoint: string | undefined;
  readonly #threshold: number;
  readonly #upload: UploadTarget;

  constructor(config: S3StorageConfig) {
    this.#bucket = config.bucket;
    this.#prefix = normalizePrefix(config.prefix);
    this.#endpoint = config.endpoint;
    this.location = `s3://${config.bucket}/${this.#prefix}`;
    this.uploadConcurrency = config.upload_concurrency;
    this.#threshold = config.multipart_threshold_mb * MIB;
    const accessKeyId = present(config.access_key_id);
    const secretAccessKey = present(config.secret_access_key);
    this.#client = new S3Client({
      // A custom endpoint rarely cares about the region, but SigV4 needs one.
      region: config.region ?? (config.endpoint ? (process.env.AWS_REGION ?? 'us-east-1') : undefined),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.force_path_style,
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
      // We send our own SHA-256 with every upload and verify what comes back ourselves.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      // Thousands of small uploads: resolve each command's middleware chain once, not per request.
      cacheMiddleware: true,
      requestHandler: {
        connectionTimeout: 10_000,
        requestTimeout: 60_000,
        httpAgent: { keepAlive: true, maxSockets: 256 },
        httpsAgent: { keepAlive: true, maxSockets: 256 },
      },
    });
    // An upload carries the SHA-256 of its body already: give it to SigV4 as the payload hash (the
    // server checks it too) instead of hashing every body once more.
    this.#client.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as { headers?: Record<string, string> }).headers;
        const sum = headers?.['x-amz-checksum-sha256'];
        if (headers && sum && !headers['x-amz-content-sha256']) headers['x-amz-content-sha256'] = Buffer.from(sum, 'base64').toString('hex');
        return next(args);
      },
      { step: 'build', name: 'sluicePayloadHash' },
    );
    const encryption: UploadTarget['encryption'] = config.sse
      ? { ServerSideEncryption: config.sse as ServerSideEncryption, ...(config.kms_key_id ? { SSEKMSKeyId: config.kms_key_id } : {}) }
      : {};
    this.#upload = {
      client: this.#client,
      bucket: this.#bucket,
      where: (key) => this.#where(key),
      encryption,
      budget: new ByteBudget(MEMORY_BUDGET),
      fast: new FastPut(this.#client, config.bucket, { endpoint: config.endpoint, forcePathStyle: config.force_path_style }),
      partBytes: config.part_size_mb * MIB,
      partConcurrency: 4,
    };
  }

  #where(key?: string): S3Where {
    return { location: this.location, bucket: this.#bucket, endpoint: this.#endpoint, ...(key ? { key } : {}) };
  }

  #full(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new SluiceError('internal', `bad storage key ${key}`);
    return `${this.#prefix}${key}`;
  }

  async #send<T>(op: string, key: string | undefined, run: () => Promise<T>, atStart = false): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw s3Error(error, op, this.#where(key), atStart);
    }
  }

  async check(): Promise<void> {
    await this.#send('HeadBucket', undefined, () => this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket })), true);
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      const page = await this.#send('ListObjectsV2', prefix, () =>
        this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: `${this.#prefix}${prefix}`, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key?.startsWith(this.#prefix)) continue;
        yield { key: o.Key.slice(this.#prefix.length), size: o.Size ?? 0, version: o.ETag ?? '' };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async #head(key: string) {
    try {
      return await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#full(key), ChecksumMode: 'ENABLED' }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Error(error, 'HeadObject', this.#where(key));
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const h = await this.#head(key);
    return h ? { key, size: h.ContentLength ?? 0, version: h.ETag ?? '' } : undefined;
  }

  async putFile(key: string, file: string, expected: { size: number; sha256: string }): Promise<PutResult> {
    const fullKey = this.#full(key);
    let etag: string;
    if (expected.size >= this.#threshold) {
      const { size } = await fs.promises.stat(file);
      if (size !== expected.size) throw this.#changed(key, `${size} bytes, ${expected.size} expected`);
      etag = await putMultipart(this.#upload, fullKey, file, expected);
    } else {
      etag = await this.#upload.budget.use(expected.size, async () => {
        const body = await fs.promises.readFile(file);
        if (body.length !== expected.size) throw this.#changed(key, `${body.length} bytes, ${expected.size} expected`);
        // Hash what is sent: the server then verifies exactly these bytes against the landed checksum.
        if (createHash('sha256').update(body).digest('hex') !== expected.sha256) throw this.#changed(key, 'its checksum differs');
        return putVerified(this.#upload, fullKey, body, expected.sha256);
      });
    }
    return { key, size: expected.size, version: etag, sha256: expected.sha256 };
  }

  #changed(key: string, what: string): SluiceError {
    return new SluiceError('integrity', `landed file for ${key} changed after it was checked: ${what}`, {
      hint: 'run sync again; if it persists, something else writes to the landing folder',
      retryable: true,
    });
  }

  async putBytes(key: string, bytes: Buffer): Promise<void> {
    await putVerified(this.#upload, this.#full(key), bytes, createHash('sha256').update(bytes).digest('hex'));
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) }));
      return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Error(error, 'GetObject', this.#where(key));
    }
  }

  /** From the metadata sluice writes (one HEAD); objects written by other tools are read and hashed. */
  async sha256(key: string): Promise<string> {
    const h = await this.#head(key);
    if (!h) throw new SluiceError('internal', `no object ${this.#full(key)} in ${this.location}`);
    const meta = h.Metadata?.[SHA256_METADATA];
    if (meta && /^[0-9a-f]{64}$/.test(meta)) return meta;
    if (h.ChecksumSHA256 && !h.ChecksumSHA256.includes('-')) return Buffer.from(h.ChecksumSHA256, 'base64').toString('hex');
    const hash = createHash('sha256');
    await pipeline(this.openRead(key), hash);
    return hash.digest('hex');
  }

  openRead(key: string): Readable {
    const out = new PassThrough();
    this.#send('GetObject', key, () => this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) }))).then(
      (r) => {
        const body = r.Body as Readable;
        body.on('error', (error) => out.destroy(s3Error(error, 'GetObject', this.#where(key))));
        body.pipe(out);
      },
      (error: unknown) => out.destroy(error as Error),
    );
    return out;
  }

  async delete(key: string): Promise<void> {
    await this.#send('DeleteObject', key, () => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#full(key) })));
  }

  /** Aborts multipart uploads under the prefix that a killed run left (they cost storage until aborted). */
  async cleanup(): Promise<number> {
    let aborted = 0;
    try {
      const r = await this.#client.send(new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: this.#prefix }));
      for (const u of r.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || Date.now() - u.Initiated.getTime() < STALE_UPLOAD_MS) continue;
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      }
    } catch {
      // Not every S3-compatible service lists uploads; a lifecycle rule can do this job instead.
    }
    return aborted;
  }

  close(): void {
    this.#client.destroy();
  }
}
