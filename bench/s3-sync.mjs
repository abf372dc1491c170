// Benchmark (issue 4): `sluice sync` of 2,000 landed batches (~50 KB each) to an S3-protocol
// server on loopback, against `aws s3 sync` (Debian's awscli) moving the same files to the same
// server. Prints both times and the ratio (target: sluice <= 1.0x the AWS CLI).
// Run alone: node bench/s3-sync.mjs [batches]
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOUR = 3_600_000;

/** The `aws` command, installed from Debian's awscli when missing and we may. */
function awsCli() {
  const which = () => spawnSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout.trim() || null;
  if (!which() && process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (spawnSync('apt-get', ['install', '-y', '-q', 'awscli'], { stdio: 'ignore', env }).status !== 0) {
      spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
      spawnSync('apt-get', ['install', '-y', '-q', 'awscli'], { stdio: 'ignore', env });
    }
  }
  return which();
}

/** Runs a command without blocking this process, which serves S3 in the meantime. */
function timed(cmd, args, options) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${path.basename(cmd)} exited ${code}: ${out.slice(-800)}`));
      else resolve({ ms: performance.now() - t0, out });
    });
  });
}

/** Hourly batches of JSON lines, gzip-compressed to about `kb` KB each, written under `root`. */
function makeBatches(root, count, kb) {
  let bytes = 0;
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < count; i++) {
    const hour = new Date(start + i * HOUR).toISOString();
    const file = path.join(root, 'github', 'events', `dt=${hour.slice(0, 10)}`, `hr=${hour.slice(11, 13)}`, 'data.jsonl.gz');
    const lines = [];
    // A line of random base64 compresses to about 390 bytes: enough lines to land near the wanted size.
    for (let n = 0; n < Math.ceil((kb * 1024) / 390); n++)
      lines.push(JSON.stringify({ id: `${i}-${n}`, type: 'PushEvent', created_at: hour, payload: randomBytes(384).toString('base64') }));
    const gz = zlib.gzipSync(`${lines.join('\n')}\n`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, gz);
    bytes += gz.length;
  }
  return bytes;
}

export async function main(count = 2000) {
  const aws = awsCli();
  if (!aws) throw new Error('the aws CLI is missing (apt-get install awscli) and could not be installed');
  const { startS3Server } = await import('../test/support/s3-server.mjs');
  const s3 = await startS3Server(['sluice-bench', 'aws-bench']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-s3-'));
  try {
    const stateDir = path.join(dir, 'state');
    const copy = path.join(dir, 'copy');
    const bytes = makeBatches(path.join(stateDir, 'landing'), count, 50);
    fs.cpSync(path.join(stateDir, 'landing'), copy, { recursive: true });
    const config = {
      state_dir: stateDir,
      storage: { type: 's3', bucket: 'sluice-bench', region: 'us-east-1', endpoint: s3.url, force_path_style: true },
      sources: [{ name: 'github', type: 'github', repos: ['bench/bench'] }],
    };
    fs.writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify(config));
    const env = { ...process.env, ...s3.env, AWS_DEFAULT_REGION: 'us-east-1', SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' };

    const sluice = await timed(process.execPath, [path.join(ROOT, 'bin', 'sluice.js'), 'sync', 'github'], { cwd: dir, env });
    const awsRun = await timed(aws, ['s3', 'sync', copy, 's3://aws-bench/', '--endpoint-url', s3.url, '--only-show-errors', '--no-progress'], {
      cwd: dir,
      env,
    });

    const inSluice = (await s3.listKeys('sluice-bench')).length;
    const inAws = (await s3.listKeys('aws-bench')).length;
    if (inSluice !== count || inAws !== count) throw new Error(`expected ${count} objects in each bucket, found sluice ${inSluice}, aws ${inAws}`);
    const ratio = sluice.ms / awsRun.ms;
    const kb = Math.round(bytes / count / 1024);
    console.log(`s3 sync: ${count} batches of ~${kb} KB (${(bytes / 1024 / 1024).toFixed(0)} MB) to a loopback S3 server`);
    console.log(`  sluice sync:  ${(sluice.ms / 1000).toFixed(2)} s`);
    console.log(`  aws s3 sync:  ${(awsRun.ms / 1000).toFixed(2)} s`);
    console.log(`  ratio sluice / aws: ${ratio.toFixed(2)}x (target <= 1.0x)`);
    return { count, bytes, sluiceMs: sluice.ms, awsMs: awsRun.ms, ratio };
  } finally {
    await s3.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(Number(process.argv[2] ?? 2000));
