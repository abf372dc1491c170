import { createHash } from 'node:crypto';
import fs from 'node:fs';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  type ServerSideEncryption,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SluiceError } from '../../core/errors.js';
import type { ByteBudget } from './byte-budget.js';
import { type FastPut, S3Answer } from './fast-put.js';
import { type S3Where, s3Error } from './s3-errors.js';

/** Everything an upload needs from its store. */
export interface UploadTarget {
  client: S3Client;
  bucket: string;
  where(key: string): S3Where;
  encryption: { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string };
  budget: ByteBudget;
  /** A cheaper PUT for small objects, when the endpoint allows it. */
  fast: FastPut | undefined;
  partBytes: number;
  partConcurrency: number;
}

/** The object metadata field that holds the sha256 (hex) of the whole object, for cheap skip checks. */
export const SHA256_METADATA = 'sha256';

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest();
const contentType = (key: string) => (key.endsWith('.gz') ? 'application/gzip' : key.endsWith('.json') ? 'application/json' : 'application/octet-stream');

function mismatch(t: UploadTarget, fullKey: string, what: string): SluiceError {
  return new SluiceError('integrity', `upload of ${fullKey} to s3://${t.bucket} not confirmed: ${what}`, {
    hint: 'the batch stays in landing; run sync again (if it persists, check the S3 service or proxy in between)',
    retryable: true,
    context: { bucket: t.bucket, key: fullKey },
  });
}

async function send<T>(t: UploadTarget, fullKey: string, op: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw s3Error(error, op, t.where(fullKey));
  }
}

/** A mismatched object must not look like a complete batch: remove it, best effort. */
async function discard(t: UploadTarget, fullKey: string): Promise<void> {
  await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: fullKey })).catch(() => {});
}

/**
 * Confirms what the server stored: its echo of the SHA-256 it verified when it sent one, else a
 * HEAD for the size (and any checksum and metadata it keeps).
 */
async function confirm(
  t: UploadTarget,
  fullKey: string,
  echoed: string | undefined,
  expected: { size: number; sha256: string },
  multipart: string | undefined,
) {
  if (echoed !== undefined && multipart === undefined) {
    if (echoed !== b64(expected.sha256)) throw mismatch(t, fullKey, 'the checksum the server computed differs');
    return;
  }
  const head = await send(t, fullKey, 'HeadObject', () => t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: fullKey, ChecksumMode: 'ENABLED' })));
  if (head.ContentLength !== expected.size) throw mismatch(t, fullKey, `the server holds ${head.ContentLength} bytes, ${expected.size} were sent`);
  const checksum = head.ChecksumSHA256;
  const wanted = multipart ?? b64(expected.sha256);
  if (checksum !== undefined && checksum.split('-')[0] !== wanted.split('-')[0]) throw mismatch(t, fullKey, 'the checksum the server keeps differs');
  const meta = head.Metadata?.[SHA256_METADATA];
  if (meta !== undefined && meta !== expected.sha256) throw mismatch(t, fullKey, 'the object metadata names another checksum');
}

/** The fast path when it applies; on an answer that hints at signing trouble, the SDK from then on. */
async function fastPut(t: UploadTarget, fullKey: string, body: Buffer, sha256Hex: string): Promise<{ ETag?: string; ChecksumSHA256?: string } | undefined> {
  if (!t.fast) return undefined;
  const headers: Record<string, string> = {
    'content-type': contentType(fullKey),
    'x-amz-checksum-sha256': b64(sha256Hex),
    'x-amz-content-sha256': sha256Hex,
    [`x-amz-meta-${SHA256_METADATA}`]: sha256Hex,
  };
  if (t.encryption.ServerSideEncryption) headers['x-amz-server-side-encryption'] = t.encryption.ServerSideEncryption;
  if (t.encryption.SSEKMSKeyId) headers['x-amz-server-side-encryption-aws-kms-key-id'] = t.encryption.SSEKMSKeyId;
  try {
    const answer = await t.fast.put(fullKey, body, headers);
    return answer && { ETag: answer.etag, ChecksumSHA256: answer['x-amz-checksum-sha256'] };
  } catch (error) {
    if (!(error instanceof S3Answer && error.suspicious)) throw s3Error(error, 'PutObject', t.where(fullKey));
    t.fast.disable();
    return undefined;
  }
}

/** One PUT whose SHA-256 the server verifies before it stores anything. Returns the ETag. */
export async function putVerified(t: UploadTarget, fullKey: string, body: Buffer, sha256Hex: string): Promise<string> {
  const out =
    (await fastPut(t, fullKey, body, sha256Hex)) ??
    (await send(t, fullKey, 'PutObject', () =>
      t.client.send(
        new PutObjectCommand({
          Bucket: t.bucket,
          Key: fullKey,
          Body: body,
          ContentLength: body.length,
          ContentType: contentType(fullKey),
          ChecksumSHA256: b64(sha256Hex),
          Metadata: { [SHA256_METADATA]: sha256Hex },
          ...t.encryption,
        }),
      ),
    ));
  try {
    await confirm(t, fullKey, out.ChecksumSHA256, { size: body.length, sha256: sha256Hex }, undefined);
  } catch (error) {
    if (error instanceof SluiceError && error.code === 'integrity') await discard(t, fullKey);
    throw error;
  }
  return out.ETag ?? '';
}

async function readPart(fh: fs.promises.FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) throw new SluiceError('integrity', 'the file shrank while it was uploaded', { retryable: true });
    got += bytesRead;
  }
  return buf;
}

/**
 * A multipart upload: parts are read in order (hashing the whole file as they go) and sent a few
 * at a time, each with its own SHA-256. The upload is aborted on any failure, so no half object
 * ever becomes visible. Returns the ETag.
 */
export async function putMultipart(t: UploadTarget, fullKey: string, file: string, expected: { size: number; sha256: string }): Promise<string> {
  const created = await send(t, fullKey, 'CreateMultipartUpload', () =>
    t.client.send(
      new CreateMultipartUploadCommand({
        Bucket: t.bucket,
        Key: fullKey,
        ContentType: contentType(fullKey),
        ChecksumAlgorithm: 'SHA256',
        Metadata: { [SHA256_METADATA]: expected.sha256 },
        ...t.encryption,
      }),
    ),
  );
  const UploadId = created.UploadId as string;
  const fh = await fs.promises.open(file, 'r');
  const parts: CompletedPart[] = [];
  const digests: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    const whole = createHash('sha256');
    for (let offset = 0, n = 1; offset < expected.size && failure === undefined; offset += t.partBytes, n++) {
      const length = Math.min(t.partBytes, expected.size - offset);
      const PartNumber = n;
      // Read in order so the whole-file hash sees the bytes in order; send in parallel.
      await t.budget.acquire(length);
      let body: Buffer;
      try {
        body = await readPart(fh, offset, length);
      } catch (error) {
        t.budget.release(length);
        throw error;
      }
      whole.update(body);
      const digest = sha256(body);
      digests[PartNumber - 1] = digest;
      const job = send(t, fullKey, 'UploadPart', () =>
        t.client.send(
          new UploadPartCommand({
            Bucket: t.bucket,
            Key: fullKey,
            UploadId,
            PartNumber,
            Body: body,
            ContentLength: length,
            ChecksumSHA256: digest.toString('base64'),
          }),
        ),
      )
        .then((out) => {
          if (out.ChecksumSHA256 !== undefined && out.ChecksumSHA256 !== digest.toString('base64'))
            throw mismatch(t, fullKey, `part ${PartNumber} checksum differs`);
          parts[PartNumber - 1] = { PartNumber, ETag: out.ETag, ChecksumSHA256: digest.toString('base64') };
        })
        .finally(() => t.budget.release(length));
      const tracked: Promise<void> = job.then(
        () => {
          inFlight.delete(tracked);
        },
        (error: unknown) => {
          inFlight.delete(tracked);
          failure ??= error;
        },
      );
      inFlight.add(tracked);
      if (inFlight.size >= t.partConcurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    if (whole.digest('hex') !== expected.sha256) throw mismatch(t, fullKey, 'the local file changed while it was uploaded');
    const done = await send(t, fullKey, 'CompleteMultipartUpload', () =>
      t.client.send(new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: fullKey, UploadId, MultipartUpload: { Parts: parts } })),
    );
    const composite = `${sha256(Buffer.concat(digests)).toString('base64')}-${parts.length}`;
    try {
      if (done.ChecksumSHA256 !== undefined && done.ChecksumSHA256.split('-')[0] !== composite.split('-')[0]) {
        throw mismatch(t, fullKey, 'the composite checksum the server computed differs');
      }
      await confirm(t, fullKey, undefined, expected, composite);
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'integrity') await discard(t, fullKey);
      throw error;
    }
    return done.ETag ?? '';
  } catch (error) {
    await Promise.allSettled(inFlight);
    await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: fullKey, UploadId })).catch(() => {});
    throw error;
  } finally {
    await fh.close();
  }
}
