import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import http from 'node:http'; import { createHash, randomBytes } from 'node:crypto';
const url = process.argv[2]; const mode = process.argv[3];
const body = randomBytes(50000); const sha = createHash('sha256').update(body);
const c = new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', cacheMiddleware: true });
const b64 = createHash('sha256').update(body).digest('base64'), hex = createHash('sha256').update(body).digest('hex');
c.middlewareStack.add((next) => async (args) => { args.request.headers['x-amz-content-sha256'] = hex; return next(args); }, { step: 'build', name: 'x' });
await c.send(new PutObjectCommand({ Bucket: 'bk8', Key: 'warm', Body: body, ChecksumSHA256: b64 }));
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const cpu0 = process.cpuUsage(); const t = performance.now();
await Promise.all(Array.from({ length: 32 }, async (_, w) => { for (let i = w; i < 2000; i += 32) {
  if (mode === 'sdk') await c.send(new PutObjectCommand({ Bucket: 'bk8', Key: `k/${i}`, Body: body, ContentLength: body.length, ChecksumSHA256: b64, Metadata: { sha256: hex } }));
  else await new Promise((res, rej) => { const r = http.request(`${url}/bk8/k/${i}`, { method: 'PUT', agent, headers: { 'content-length': body.length, authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20261123/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00', 'x-amz-date': '20261123T000000Z', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, (resp) => { resp.resume(); resp.on('end', res); }); r.on('error', rej); r.end(body); });
} }));
const u = process.cpuUsage(cpu0); console.log(mode, (performance.now() - t).toFixed(0), 'ms wall', ((u.user + u.system) / 1000).toFixed(0), 'ms cpu');
