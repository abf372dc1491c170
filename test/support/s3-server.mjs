/**
 * A real S3-protocol server for tests: s3rver over a temp folder on 127.0.0.1, behind a small
 * front handler that records every request and supplies what real S3 does and s3rver 3.7 does not:
 *   - `aws-chunked` request bodies are decoded (s3rver would store the chunk framing as the bytes);
 *   - `x-amz-checksum-*` and `Content-MD5` are verified (400 BadDigest on a mismatch) and the
 *     checksum is echoed on the PUT response, as S3 does for single-part uploads;
 *   - ListObjectsV2 continuation tokens work past 1,000 keys (s3rver encrypts them with DES, which
 *     OpenSSL 3 no longer ships);
 *   - a PUT (object or part) is answered only once its file is whole on disk, and completing a
 *     multipart upload checks its parts as S3 does (s3-server-store.mjs): s3rver answered before the
 *     write finished, so an upload completed right after could be assembled short.
 * Faults can be injected to test integrity checks and outages.
 * Plain JavaScript (types in s3-server.d.mts) so that the benchmarks, which run on plain Node,
 * start the very same server as the tests.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { asRequest, slowDiskUnder, storeWholly } from './s3-server-store.mjs';

const require = createRequire(import.meta.url);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// s3rver only needs its continuation tokens to round-trip: for 'des', an identity "cipher".
const nodeCrypto = require('node:crypto');
const DES_STAND_IN = Symbol.for('sluice.test.des');
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = nodeCrypto[name];
  if (original[DES_STAND_IN]) continue;
  const patched = function (alg, ...rest) {
    if (String(alg).toLowerCase() !== 'des') return original.call(this, alg, ...rest);
    return {
      update: (data, enc) => (Buffer.isBuffer(data) ? Buffer.from(data) : Buffer.from(data, enc)),
      final: () => Buffer.alloc(0),
    };
  };
  nodeCrypto[name] = Object.assign(patched, { [DES_STAND_IN]: true });
}
const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');
export const TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
const be32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b.toString('base64');
};
const digest = (algo) => (b) => crypto.createHash(algo).update(b).digest('base64');
const CHECKSUMS = {
  sha256: digest('sha256'),
  sha1: digest('sha1'),
  crc32: (b) => be32(zlib.crc32(b)),
  crc32c: (b) => {
    let c = 0xffffffff;
    for (const byte of b) c = CRC32C_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
    return be32((c ^ 0xffffffff) >>> 0);
  },
};
/** Strips `aws-chunked` framing: `hex[;ext]\r\n data\r\n … 0\r\n trailer: value\r\n\r\n`. */
export function decodeAwsChunked(buf) {
  const parts = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) throw new Error('truncated aws-chunked body');
    const size = Number.parseInt(buf.toString('latin1', i, eol).split(';')[0], 16);
    if (!Number.isFinite(size)) throw new Error('bad aws-chunked size line');
    i = eol + 2;
    if (size === 0) break;
    parts.push(buf.subarray(i, i + size));
    i += size + 2;
  }
  const trailers = {};
  for (const line of buf.toString('latin1', i).split('\r\n')) {
    const c = line.indexOf(':');
    if (c > 0) trailers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}
function xmlError(res, status, code, message) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
export class S3TestServer {
  dir;
  requests = [];
  faults = { corruptInTransit: 0, truncateStored: 0, rejectSignature: 0, slowDiskMs: 0 };
  port = 0;
  #buckets;
  #server;
  #sockets = new Set();
  #handler;
  #stopAfter;
  #client;
  #forgetDisk;
  constructor(buckets, dir) {
    this.#buckets = buckets;
    this.dir = dir;
    this.#forgetDisk = slowDiskUnder(dir, () => this.faults.slowDiskMs);
  }
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }
  get running() {
    return this.#server !== undefined;
  }
  /** Environment for a CLI run: credentials the server knows, no instance-metadata lookups. */
  get env() {
    return {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  }
  /** Object PUTs (whole objects and parts) recorded since request index `since`. */
  puts(since = 0) {
    return this.requests.slice(since).filter((r) => r.method === 'PUT' && r.path.includes('/'));
  }
  async start() {
    if (this.#server) return;
    const s3rver = new S3rver({ directory: this.dir, silent: true, configureBuckets: this.#buckets.map((name) => ({ name })) });
    storeWholly(s3rver.store);
    await s3rver.configureBuckets();
    this.#handler = s3rver.callback();
    const server = http.createServer((req, res) => this.#front(req, res));
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    // A restart reuses the port, which may linger briefly after close.
    for (let tries = 0; ; tries++) {
      try {
        await new Promise((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        if (error.code !== 'EADDRINUSE' || tries > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.port = server.address().port;
    this.#server = server;
  }
  /** Refuses connections from now on and cuts the open ones, as a crashed server would. */
  async stop() {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    await new Promise((resolve) => server.close(() => resolve()));
  }
  async restart() {
    await this.stop();
    await this.start();
  }
  /** Lets another key pair sign requests (the server knows only its own by default). */
  addKey(accessKeyId, secretAccessKey) {
    DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  }
  /** Stops the server right after the n-th successful object PUT from now. */
  stopAfterPuts(n) {
    this.#stopAfter = { remaining: n };
  }
  async close() {
    await this.stop();
    this.#forgetDisk();
    this.#client?.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
  client() {
    this.#client ??= new S3Client({
      endpoint: this.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: TEST_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    return this.#client;
  }
  /** Every object under a prefix, sorted by key (listed page by page). */
  async listKeys(bucket, prefix = '') {
    const out = [];
    let token;
    do {
      const page = await this.client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.push({ key: o.Key, size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  async getObject(bucket, key) {
    const r = await this.client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await r.Body.transformToByteArray());
  }
  #front(req, res) {
    const url = new URL(req.url ?? '/', 'http://local');
    const rec = { method: req.method ?? '', url: req.url ?? '', path: decodeURIComponent(url.pathname.slice(1)), headers: { ...req.headers }, status: 0 };
    this.requests.push(rec);
    const isObjectPut = req.method === 'PUT' && rec.path.includes('/') && !req.headers['x-amz-copy-source'];
    res.on('finish', () => {
      rec.status = res.statusCode;
      if (rec.unfinishedWrites > 0) rec.answeredBeforeStored = true;
      if (isObjectPut && res.statusCode === 200 && this.#stopAfter && --this.#stopAfter.remaining === 0) {
        this.#stopAfter = undefined;
        void this.stop();
      }
    });
    const handler = this.#handler;
    if (isObjectPut && this.faults.rejectSignature > 0) {
      this.faults.rejectSignature--;
      req.resume();
      xmlError(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
      return;
    }
    if (!isObjectPut) {
      asRequest(rec, () => handler(req, res));
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => asRequest(rec, () => this.#put(req, res, Buffer.concat(chunks), handler)));
  }
  #put(req, res, raw, handler) {
    const headers = { ...req.headers };
    let body = raw;
    let trailers = {};
    if (/aws-chunked/.test(headers['content-encoding'] ?? '') || /^STREAMING-/.test(String(headers['x-amz-content-sha256'] ?? ''))) {
      try {
        ({ body, trailers } = decodeAwsChunked(raw));
      } catch (error) {
        xmlError(res, 400, 'IncompleteBody', error.message);
        return;
      }
      const rest = (headers['content-encoding'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s && s !== 'aws-chunked');
      if (rest.length) headers['content-encoding'] = rest.join(',');
      else delete headers['content-encoding'];
      delete headers['x-amz-decoded-content-length'];
    }
    if (this.faults.corruptInTransit > 0 && body.length > 0) {
      this.faults.corruptInTransit--;
      body = Buffer.from(body);
      body[0] = body[0] ^ 0xff;
    }
    const md5 = headers['content-md5'];
    if (md5 && crypto.createHash('md5').update(body).digest('base64') !== md5) {
      xmlError(res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
      return;
    }
    // Like S3: verify every checksum sent (header or trailer) and echo it back once stored.
    const careless = this.faults.truncateStored > 0 && body.length > 0;
    for (const [algo, sum] of Object.entries(CHECKSUMS)) {
      const sent = trailers[`x-amz-checksum-${algo}`] ?? headers[`x-amz-checksum-${algo}`];
      if (!sent) continue;
      if (sum(body) !== sent) {
        xmlError(res, 400, 'BadDigest', `The ${algo.toUpperCase()} you specified did not match the calculated checksum.`);
        return;
      }
      if (!careless) res.setHeader(`x-amz-checksum-${algo}`, sent);
    }
    if (careless) {
      this.faults.truncateStored--;
      body = body.subarray(0, body.length - 1);
    }
    headers['content-length'] = String(body.length);
    delete headers['transfer-encoding'];
    // s3rver reads the body from the request: hand it the checked bytes as a request-like stream.
    const fake = Object.assign(Readable.from(body.length ? [body] : []), {
      headers,
      rawHeaders: [],
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      httpVersionMajor: req.httpVersionMajor,
      httpVersionMinor: req.httpVersionMinor,
      socket: req.socket,
      connection: req.socket,
      complete: true,
      trailers: {},
    });
    handler(fake, res);
  }
}
/** Starts a server with the given buckets in a fresh temp folder on a free loopback port. */
export async function startS3Server(buckets = ['lake']) {
  const server = new S3TestServer(buckets, fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-test-s3-')));
  await server.start();
  return server;
}
