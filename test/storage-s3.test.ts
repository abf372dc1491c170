import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError, type SluiceError } from '../src/core/errors.js';
import { sha256File } from '../src/core/fs/sha256-file.js';
import type { ObjectStore } from '../src/core/object-store.js';
import { s3StorageSchema } from '../src/storage/s3/config.js';
import { S3Store } from '../src/storage/s3/s3-store.js';
import { storageContract } from './storage-contract.js';
import { type S3TestServer, startS3Server, TEST_CREDENTIALS } from './support/s3-server.mjs';
import { tempDir } from './support/workspace.js';

let server: S3TestServer;
let suite = 0;

beforeAll(async () => {
  server = await startS3Server(['lake', 'other']);
});
afterAll(async () => {
  await server.close();
});

/** A store on the test server; settings as a user would write them in sluice.yaml. */
function s3Store(settings: Record<string, unknown> = {}): S3Store {
  const config = s3StorageSchema.parse({
    type: 's3',
    bucket: 'lake',
    endpoint: server.url,
    region: 'us-east-1',
    force_path_style: true,
    access_key_id: TEST_CREDENTIALS.accessKeyId,
    secret_access_key: TEST_CREDENTIALS.secretAccessKey,
    ...settings,
  });
  return new S3Store(config);
}

const failure = async (p: Promise<unknown>): Promise<SluiceError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSluiceError(error)) throw new Error(`expected a SluiceError, got ${String(error)}`);
  return error;
};

// Each suite gets its own prefix: the bucket is shared. Large files go up in 5 MiB parts.
storageContract('s3', async () => {
  const store = s3Store({ prefix: `contract-${suite++}`, multipart_threshold_mb: 5, part_size_mb: 5 });
  return { store, close: async () => store.close() };
});

describe('s3 store', () => {
  const dir = tempDir('s3-store');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const landed = async (bytes: Buffer) => {
    const f = path.join(dir, randomBytes(6).toString('hex'));
    fs.writeFileSync(f, bytes);
    return { file: f, expected: await sha256File(f) };
  };

  it('lists past 1,000 keys, page by page', async () => {
    const store = s3Store({ prefix: 'many/' });
    const keys = Array.from({ length: 1_050 }, (_, i) => `s/e/dt=2026-01-01/hr=00/${String(i).padStart(5, '0')}.jsonl.gz`);
    for (let i = 0; i < keys.length; i += 64) await Promise.all(keys.slice(i, i + 64).map((k) => store.putBytes(k, Buffer.from(k))));
    const since = server.requests.length;
    const listed: string[] = [];
    for await (const o of store.list('s/e/')) listed.push(o.key);
    expect(listed.sort()).toEqual(keys);
    expect(server.requests.slice(since).filter((r) => r.method === 'GET').length).toBe(2);
  });

  it('sends a SHA-256 the server verifies with every upload, and keys under the prefix', async () => {
    const store = s3Store({ prefix: 'raw' });
    const { file, expected } = await landed(randomBytes(1000));
    const since = server.requests.length;
    await store.putFile('g/e/dt=2026-01-01/hr=00/a.jsonl.gz', file, expected);
    const [put] = server.puts(since);
    expect(put?.path).toBe('lake/raw/g/e/dt=2026-01-01/hr=00/a.jsonl.gz');
    expect(put?.headers['x-amz-checksum-sha256']).toBe(Buffer.from(expected.sha256, 'hex').toString('base64'));
    expect(put?.headers['content-encoding'] ?? '').not.toContain('aws-chunked');
  });

  it('reads the checksum from metadata with one HEAD, without downloading', async () => {
    const store = s3Store({ prefix: 'meta/' });
    const { file, expected } = await landed(randomBytes(40_000));
    await store.putFile('k/dt=2026-01-01/hr=00/a.jsonl.gz', file, expected);
    const since = server.requests.length;
    expect(await store.sha256('k/dt=2026-01-01/hr=00/a.jsonl.gz')).toBe(expected.sha256);
    expect(server.requests.slice(since).map((r) => r.method)).toEqual(['HEAD']);
  });

  it('hashes an object another tool wrote (no metadata)', async () => {
    const bytes = randomBytes(3000);
    await server.client().send(new PutObjectCommand({ Bucket: 'lake', Key: 'foreign/a.jsonl.gz', Body: bytes }));
    const { expected } = await landed(bytes);
    expect(await s3Store({ prefix: 'foreign/' }).sha256('a.jsonl.gz')).toBe(expected.sha256);
  });

  it('uploads a large file in parallel parts, each with its checksum', async () => {
    const store = s3Store({ prefix: 'mp/', multipart_threshold_mb: 5, part_size_mb: 5 });
    const { file, expected } = await landed(randomBytes(17 * 1024 * 1024));
    const since = server.requests.length;
    await store.putFile('k/dt=2026-01-01/hr=00/big.jsonl.gz', file, expected);
    const reqs = server.requests.slice(since);
    const parts = reqs.filter((r) => r.method === 'PUT' && /partNumber=/.test(r.url));
    expect(parts).toHaveLength(4);
    expect(parts.every((p) => typeof p.headers['x-amz-checksum-sha256'] === 'string')).toBe(true);
    expect(reqs.some((r) => r.method === 'POST' && /uploads/.test(r.url))).toBe(true);
    expect((await server.getObject('lake', 'mp/k/dt=2026-01-01/hr=00/big.jsonl.gz')).equals(fs.readFileSync(file))).toBe(true);
    expect(await store.sha256('k/dt=2026-01-01/hr=00/big.jsonl.gz')).toBe(expected.sha256);
  });

  // A server that answers before the bytes are on disk lets the upload be completed (or checked)
  // against a short file. A slow disk makes that certain: the first write of each file is late.
  it('on a slow disk every answer waits for the bytes, and a multipart upload is stored whole', async () => {
    const store = s3Store({ prefix: 'slow-disk/', multipart_threshold_mb: 5, part_size_mb: 5 });
    const { file, expected } = await landed(randomBytes(11 * 1024 * 1024));
    const small = Buffer.from('{"small":true}\n');
    const since = server.requests.length;
    server.faults.slowDiskMs = 1_000;
    let outcome: string;
    try {
      await store.putBytes('k/small.json', small);
      outcome = await store.putFile('k/dt=2026-01-01/hr=00/big.jsonl.gz', file, expected).then(
        () => 'stored',
        (e: Error) => e.message,
      );
    } finally {
      server.faults.slowDiskMs = 0;
    }
    const early = server.requests.slice(since).filter((r) => r.answeredBeforeStored);
    expect(early.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(outcome).toBe('stored');
    expect((await server.getObject('lake', 'slow-disk/k/dt=2026-01-01/hr=00/big.jsonl.gz')).equals(fs.readFileSync(file))).toBe(true);
    expect((await server.getObject('lake', 'slow-disk/k/small.json')).equals(small)).toBe(true);
  });

  it('the test server completes an upload only as S3 does: known upload, parts in order, ETags that match', async () => {
    const c = server.client();
    const Key = 'strict/k.bin';
    const error = (p: Promise<unknown>) =>
      p.then(
        () => 'none',
        (e: Error) => e.name,
      );
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'lake', Key }));
    const part = (PartNumber: number) => c.send(new UploadPartCommand({ Bucket: 'lake', Key, UploadId, PartNumber, Body: Buffer.from(`part ${PartNumber}`) }));
    const [one, two] = [await part(1), await part(2)];
    const complete = (Parts: Array<{ PartNumber: number; ETag?: string }>) =>
      c.send(new CompleteMultipartUploadCommand({ Bucket: 'lake', Key, UploadId, MultipartUpload: { Parts } }));
    expect(
      await error(
        complete([
          { PartNumber: 2, ETag: two.ETag },
          { PartNumber: 1, ETag: one.ETag },
        ]),
      ),
    ).toBe('InvalidPartOrder');
    expect(
      await error(
        complete([
          { PartNumber: 1, ETag: two.ETag },
          { PartNumber: 2, ETag: two.ETag },
        ]),
      ),
    ).toBe('InvalidPart');
    expect(
      await error(
        complete([
          { PartNumber: 1, ETag: one.ETag },
          { PartNumber: 2, ETag: two.ETag },
        ]),
      ),
    ).toBe('none');
    expect((await server.getObject('lake', Key)).toString()).toBe('part 1part 2');
    expect(await error(part(3))).toBe('NoSuchUpload');
  });

  it('detects bytes corrupted on the way: the server refuses them and nothing is stored', async () => {
    const store = s3Store({ prefix: 'corrupt/' });
    const { file, expected } = await landed(randomBytes(5000));
    server.faults.corruptInTransit = 1;
    const e = await failure(store.putFile('k/a.jsonl.gz', file, expected));
    expect(e.code).toBe('integrity');
    expect(await store.head('k/a.jsonl.gz')).toBeUndefined();
  });

  it('detects a server that stores something else than it was sent, and removes it', async () => {
    const store = s3Store({ prefix: 'careless/' });
    const { file, expected } = await landed(randomBytes(5000));
    server.faults.truncateStored = 1;
    const e = await failure(store.putFile('k/a.jsonl.gz', file, expected));
    expect(e.code).toBe('integrity');
    expect(e.message).toContain('4999 bytes');
    expect(await store.head('k/a.jsonl.gz')).toBeUndefined();
  });

  it('sends small objects without the SDK middleware, and falls back to the SDK when the server rejects that signing', async () => {
    const store = s3Store({ prefix: 'fallback/' });
    const one = await landed(randomBytes(2000));
    let since = server.requests.length;
    await store.putFile('a.jsonl.gz', one.file, one.expected);
    expect(server.puts(since).map((p) => p.headers['amz-sdk-invocation-id'])).toEqual([undefined]);

    server.faults.rejectSignature = 1;
    const two = await landed(randomBytes(2000));
    since = server.requests.length;
    await store.putFile('b.jsonl.gz', two.file, two.expected);
    const puts = server.puts(since);
    expect(puts.map((p) => p.status)).toEqual([403, 200]);
    expect(puts[1]?.headers['amz-sdk-invocation-id']).toBeDefined();
    expect((await server.getObject('lake', 'fallback/b.jsonl.gz')).equals(fs.readFileSync(two.file))).toBe(true);
  });

  it('asks for server-side encryption on every upload when configured', async () => {
    const kms = s3Store({ prefix: 'sse/', sse: 'aws:kms', kms_key_id: 'alias/sluice', multipart_threshold_mb: 5, part_size_mb: 5 });
    const aes = s3Store({ prefix: 'sse/', sse: 'AES256' });
    const since = server.requests.length;
    const small = await landed(randomBytes(100));
    const big = await landed(randomBytes(6 * 1024 * 1024));
    await kms.putFile('a.jsonl.gz', small.file, small.expected);
    await kms.putFile('b.jsonl.gz', big.file, big.expected);
    await kms.putBytes('_state/x.json', Buffer.from('{}'));
    await aes.putBytes('_state/y.json', Buffer.from('{}'));
    const uploads = server.requests
      .slice(since)
      .filter((r) => (r.method === 'PUT' && !/partNumber=/.test(r.url)) || (r.method === 'POST' && /uploads/.test(r.url)));
    expect(uploads.map((r) => [r.path, r.headers['x-amz-server-side-encryption'], r.headers['x-amz-server-side-encryption-aws-kms-key-id']])).toEqual([
      ['lake/sse/a.jsonl.gz', 'aws:kms', 'alias/sluice'],
      ['lake/sse/b.jsonl.gz', 'aws:kms', 'alias/sluice'],
      ['lake/sse/_state/x.json', 'aws:kms', 'alias/sluice'],
      ['lake/sse/_state/y.json', 'AES256', undefined],
    ]);
  });

  it('check() names a missing bucket, and never creates it', async () => {
    const e = await failure(s3Store({ bucket: 'no-such-bucket' }).check());
    expect(e.code).toBe('storage_unreachable');
    expect(e.fatal).toBe(true);
    expect(e.message).toContain('bucket "no-such-bucket" does not exist');
    expect(e.hint).toContain('storage.bucket');
    expect((await server.listKeys('other')).length).toBe(0);
    await expect(server.listKeys('no-such-bucket')).rejects.toBeTruthy();
  });

  it('check() says when access is denied, without the secret', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET';
    const e = await failure(s3Store({ access_key_id: 'AKIAUNKNOWN0000', secret_access_key: secret }).check());
    expect(e.code).toBe('storage_unreachable');
    expect(e.message).toContain('access denied');
    expect(e.hint).toContain('storage.access_key_id');
    expect(JSON.stringify({ m: e.message, h: e.hint, c: e.context })).not.toContain(secret);
  });

  it('check() says when the endpoint cannot be reached', async () => {
    const closed = s3StorageSchema.parse({
      type: 's3',
      bucket: 'lake',
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
    });
    const e = await failure(new S3Store(closed).check());
    expect(e.code).toBe('storage_unreachable');
    expect(e.message).toContain('cannot reach http://127.0.0.1:9');
  });

  it('an outage after the check is a retryable network error, not a fatal one', async () => {
    const store: ObjectStore = s3Store({ prefix: 'outage/' });
    await store.check();
    await server.stop();
    try {
      const e = await failure(store.putBytes('x.json', Buffer.from('{}')));
      expect(e.code).toBe('network');
      expect(e.retryable).toBe(true);
    } finally {
      await server.start();
    }
  });

  it('a config names the key that is wrong', () => {
    const r = s3StorageSchema.safeParse({ type: 's3', bucket: 'lake', access_key_id: 'AKIA', sse: 'rot13' });
    expect(r.success).toBe(false);
    const paths = r.error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(paths).toContain('sse');
  });
});
