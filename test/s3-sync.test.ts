import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import type { RunRecord } from '../src/pipeline/run-record.js';
import { type S3TestServer, startS3Server } from './support/s3-server.mjs';
import { type CliResult, listFiles, queryDuck, runCli, tempDir, writeConfig } from './support/workspace.js';

const REPOS = ['duckdb/duckdb', 'apache/spark', 'delta-io/delta'];
const SECRET = 'sluiceTestS3Secret9Xq7Vw2Lk9Pz4Rt';
const BATCH = /^raw\/github\/events\/dt=\d{4}-\d{2}-\d{2}\/hr=\d{2}\/[^/]+\.jsonl\.gz$/;

let s3: S3TestServer;
let sim: GithubSim;
const dirs: string[] = [];

beforeAll(async () => {
  s3 = await startS3Server(['lake', 'outage', 'shared', 'sse', 'many', 'bits', 'ahead']);
  s3.addKey('AKIASLUICETEST0001', SECRET);
  sim = await startGithubSim({ seed: 4, repos: REPOS, events: 60, spanHours: 30 });
});
afterAll(async () => {
  await sim.close();
  await s3.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Workspace {
  dir: string;
  cfg: string;
  stateDir: string;
  landing: string;
  warehouse: string;
}

/** A workspace whose storage is a bucket of the test server under `raw/`. */
function workspace(name: string, bucket: string, storage: Record<string, unknown> = {}, stateDir = 'state'): Workspace {
  const dir = tempDir(name);
  dirs.push(dir);
  const ws = { dir, cfg: '', stateDir: path.join(dir, stateDir), landing: path.join(dir, stateDir, 'landing'), warehouse: path.join(dir, 'warehouse.duckdb') };
  ws.cfg = writeConfig(dir, {
    state_dir: ws.stateDir,
    storage: { type: 's3', bucket, prefix: 'raw/', region: 'us-east-1', endpoint: s3.url, force_path_style: true, ...storage },
    warehouse: { type: 'duckdb', path: ws.warehouse },
    sources: [{ name: 'github', type: 'github', base_url: sim.url, repos: REPOS, retry_base_ms: 5 }],
  });
  return ws;
}

const sluice = (ws: Workspace, args: string[], env: Record<string, string> = s3.env): Promise<CliResult> =>
  runCli(['--config', ws.cfg, ...args], { cwd: ws.dir, env: { SLUICE_LOG_LEVEL: 'warn', ...env } });
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr.slice(-3000)}`;
const landedBatches = (ws: Workspace) => listFiles(ws.landing).filter((f) => f.endsWith('.jsonl.gz'));
const batchesIn = async (bucket: string) => (await s3.listKeys(bucket, 'raw/')).filter((o) => o.key.endsWith('.jsonl.gz'));
const lastRun = (ws: Workspace): RunRecord => JSON.parse(fs.readFileSync(path.join(ws.stateDir, 'runs.jsonl'), 'utf8').trim().split('\n').at(-1) as string);

/** Writes gzip batches straight into landing, as a fetch would have left them. */
function land(ws: Workspace, count: number, bytesEach = 200): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const hour = new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString();
    const key = `github/events/dt=${hour.slice(0, 10)}/hr=${hour.slice(11, 13)}/20250101T000000Z-test${String(i).padStart(4, '0')}.jsonl.gz`;
    const lines = `${JSON.stringify({ id: String(i), pad: randomBytes(bytesEach).toString('base64') })}\n`;
    const bytes = zlib.gzipSync(lines);
    fs.mkdirSync(path.dirname(path.join(ws.landing, key)), { recursive: true });
    fs.writeFileSync(path.join(ws.landing, key), bytes);
    out.set(key, bytes);
  }
  return out;
}
function restore(ws: Workspace, batches: Map<string, Buffer>): void {
  for (const [key, bytes] of batches) {
    fs.mkdirSync(path.dirname(path.join(ws.landing, key)), { recursive: true });
    fs.writeFileSync(path.join(ws.landing, key), bytes);
  }
}
async function expectInBucket(bucket: string, batches: Map<string, Buffer>): Promise<void> {
  for (const [key, bytes] of batches) expect((await s3.getObject(bucket, `raw/${key}`)).equals(bytes), key).toBe(true);
}
async function warehouseIds(ws: Workspace): Promise<string[]> {
  const rows = await queryDuck<{ id: string }>(ws.warehouse, 'SELECT CAST(id AS VARCHAR) AS id FROM raw.github_events ORDER BY 1');
  return rows.map((r) => r.id);
}

describe('sync to S3 through the CLI', () => {
  it('run puts Hive-layout batches and the checkpoint in the bucket, and loads every id', async () => {
    const ws = workspace('s3-run', 'lake');
    const since = s3.requests.length;
    const r = await sluice(ws, ['run', 'github']);
    expect(r.code, show(r)).toBe(0);
    const keys = (await s3.listKeys('lake', 'raw/')).map((o) => o.key);
    expect(keys.filter((k) => !BATCH.test(k))).toEqual(['raw/_state/github/events.json']);
    expect(keys.length).toBeGreaterThan(10);
    expect(landedBatches(ws)).toEqual([]);
    expect(await warehouseIds(ws)).toEqual([...sim.expectedIds()].sort());
    const puts = s3.puts(since);
    expect(puts.length).toBe(keys.length);
    expect(puts.every((p) => typeof p.headers['x-amz-checksum-sha256'] === 'string')).toBe(true);
  });

  it('lists past 1,000 keys and skips batches already there with the same checksum', async () => {
    const ws = workspace('s3-many', 'many');
    const batches = land(ws, 1_100);
    let since = s3.requests.length;
    const first = await sluice(ws, ['sync', 'github']);
    expect(first.code, show(first)).toBe(0);
    expect(s3.puts(since)).toHaveLength(1_100);
    expect(await batchesIn('many')).toHaveLength(1_100);
    expect(landedBatches(ws)).toEqual([]);

    // The same batches landed again (e.g. by another machine): nothing is sent twice.
    restore(ws, batches);
    since = s3.requests.length;
    const again = await sluice(ws, ['sync', 'github']);
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toContain('1100 already in storage');
    expect(s3.puts(since)).toHaveLength(0);
    expect(s3.requests.slice(since).filter((q) => q.method === 'GET' && /list-type=2/.test(q.url)).length).toBe(2);
    expect(landedBatches(ws)).toEqual([]);

    // One changed batch under the same key is sent again, and only that one.
    const key = [...batches.keys()][0] as string;
    const changed = new Map([[key, zlib.gzipSync('{"id":"changed"}\n')]]);
    restore(ws, changed);
    since = s3.requests.length;
    expect((await sluice(ws, ['sync', 'github'])).code).toBe(0);
    expect(s3.puts(since).map((p) => p.path)).toEqual([`many/raw/${key}`]);
    await expectInBucket('many', changed);
  });

  it('a load from S3 copies each group while the one before it loads, and leaves no copy behind', async () => {
    const ws = workspace('s3-load-ahead', 'ahead');
    land(ws, 150); // three groups of at most 64 batches
    const synced = await sluice(ws, ['sync', 'github']);
    expect(synced.code, show(synced)).toBe(0);
    const r = await sluice(ws, ['load', 'github']);
    expect(r.code, show(r)).toBe(0);
    expect(lastRun(ws).streams[0]).toMatchObject({ loaded_batches: 150, loaded_rows: 150 });
    expect(await warehouseIds(ws)).toEqual(Array.from({ length: 150 }, (_, i) => String(i)).sort());
    const tmp = path.join(ws.stateDir, 'tmp');
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);

    // A damaged batch fails its own group only; the groups after it load, and no copy stays either.
    const again = workspace('s3-load-ahead-2', 'ahead');
    const first = (await s3.listKeys('ahead', 'raw/github/')).map((o) => o.key).sort()[0]!;
    await s3.client().send(new PutObjectCommand({ Bucket: 'ahead', Key: first, Body: Buffer.from('not gzip') }));
    const damaged = await sluice(again, ['load', 'github']);
    expect(damaged.code, show(damaged)).toBe(1);
    expect(lastRun(again).streams[0]).toMatchObject({ loaded_batches: 150 - 64 });
    expect(fs.existsSync(path.join(again.stateDir, 'tmp')) ? fs.readdirSync(path.join(again.stateDir, 'tmp')) : []).toEqual([]);
  });

  it('sends a large batch in parts and a corrupted upload stays in landing until a later sync', async () => {
    const ws = workspace('s3-bits', 'bits', { multipart_threshold_mb: 5, part_size_mb: 5 });
    const big = land(ws, 1, 9 * 1024 * 1024);
    let since = s3.requests.length;
    const r = await sluice(ws, ['sync', 'github']);
    expect(r.code, show(r)).toBe(0);
    expect(s3.requests.slice(since).filter((q) => q.method === 'PUT' && /partNumber=/.test(q.url)).length).toBeGreaterThanOrEqual(2);
    await expectInBucket('bits', big);

    const small = land(ws, 3);
    s3.faults.corruptInTransit = 1;
    since = s3.requests.length;
    const bad = await sluice(ws, ['sync', 'github']);
    expect(bad.code, show(bad)).toBe(1);
    const record = lastRun(ws);
    expect(record.streams[0]?.errors.map((e) => e.code)).toEqual(['integrity']);
    const failedKey = record.streams[0]?.errors[0]?.unit as string;
    expect(bad.stdout).toContain(failedKey);
    expect(landedBatches(ws)).toEqual([failedKey]);

    const good = await sluice(ws, ['sync', 'github']);
    expect(good.code, show(good)).toBe(0);
    expect(landedBatches(ws)).toEqual([]);
    await expectInBucket('bits', small);
  });

  it('survives storage going down before and during a sync: nothing lost, nothing doubled', async () => {
    const ws = workspace('s3-outage', 'outage');
    const fetched = await sluice(ws, ['fetch', 'github']);
    expect(fetched.code, show(fetched)).toBe(0);
    const landed = new Map(landedBatches(ws).map((k) => [k, fs.readFileSync(path.join(ws.landing, k))]));
    expect(landed.size).toBeGreaterThan(10);

    await s3.stop();
    try {
      const down = await sluice(ws, ['sync', 'github']);
      expect(down.code, show(down)).toBe(2);
      expect(down.stdout + down.stderr).toContain(`cannot reach ${s3.url}`);
      const runDown = await sluice(ws, ['run', 'github']);
      expect(runDown.code, show(runDown)).toBe(2);
      expect(landedBatches(ws)).toEqual([...landed.keys()]);
    } finally {
      await s3.start();
    }

    s3.stopAfterPuts(5);
    const cut = await sluice(ws, ['sync', 'github']);
    await s3.start();
    expect(cut.code, show(cut)).not.toBe(0);
    expect(cut.code).not.toBeNull();
    const inBucket = await batchesIn('outage');
    expect(inBucket.length + landedBatches(ws).length).toBeGreaterThanOrEqual(landed.size);
    expect(await s3.listKeys('outage', 'raw/_state/')).toEqual([]); // the checkpoint waits for every batch

    const after = await sluice(ws, ['run', 'github']);
    expect(after.code, show(after)).toBe(0);
    expect(landedBatches(ws)).toEqual([]);
    const keys = (await batchesIn('outage')).map((o) => o.key);
    expect(keys.filter((k) => landed.has(k.slice(4)))).toHaveLength(landed.size);
    await expectInBucket('outage', landed);
    expect(await s3.listKeys('outage', 'raw/_state/')).toHaveLength(1);
    const ids = await warehouseIds(ws);
    expect(ids).toEqual([...sim.expectedIds()].sort());
  });

  it('two machines alternating on one bucket share the checkpoint and never repeat a batch', async () => {
    const a = workspace('s3-machine-a', 'shared', {}, 'state-a');
    const b = workspace('s3-machine-b', 'shared', {}, 'state-b');
    const runs: Array<[Workspace, number]> = [
      [a, 0],
      [b, 20],
      [a, 15],
      [b, 0],
    ];
    for (const [ws, newEvents] of runs) {
      if (newEvents) sim.advance(newEvents);
      const r = await sluice(ws, ['run', 'github']);
      expect(r.code, show(r)).toBe(0);
      expect(landedBatches(ws)).toEqual([]);
    }
    // The second machine continued from the first one's checkpoint instead of starting over.
    const secondRun = JSON.parse(fs.readFileSync(path.join(b.stateDir, 'runs.jsonl'), 'utf8').split('\n')[0] as string) as RunRecord;
    expect(secondRun.streams[0]?.fetched).toBeLessThan(sim.expectedIds().length);
    const objects = (await s3.listKeys('shared', 'raw/')).map((o) => o.key);
    expect(objects.filter((k) => k.startsWith('raw/_state/'))).toEqual(['raw/_state/github/events.json']);
    // Every batch a run landed is in the bucket once: one object per run and hour it touched.
    const batches = objects.filter((k) => BATCH.test(k));
    const records = [a, b].flatMap((ws) =>
      fs
        .readFileSync(path.join(ws.stateDir, 'runs.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RunRecord),
    );
    const landedTotal = records.reduce((n, rec) => n + (rec.streams[0]?.landed_batches ?? 0), 0);
    const syncedTotal = records.reduce((n, rec) => n + (rec.streams[0]?.synced_batches ?? 0), 0);
    expect(batches.length).toBe(landedTotal);
    expect(syncedTotal).toBe(landedTotal);
    const runIds = new Set(records.map((rec) => rec.run_id));
    expect(batches.filter((k) => !runIds.has((k.split('/').pop() as string).replace('.jsonl.gz', '')))).toEqual([]);
    const inBucket = new Set<string>();
    for (const key of batches) {
      for (const line of zlib
        .gunzipSync(await s3.getObject('shared', key))
        .toString()
        .split('\n'))
        if (line) inBucket.add(String(JSON.parse(line).id));
    }
    expect([...inBucket].sort()).toEqual([...sim.expectedIds()].sort());
    expect(await warehouseIds(a)).toEqual([...sim.expectedIds()].sort());
    expect(await warehouseIds(b)).toEqual([...sim.expectedIds()].sort());
  });

  it('sends the configured encryption headers, with credentials from the config that never leak', async () => {
    const ws = workspace('s3-sse', 'sse', { sse: 'aws:kms', kms_key_id: 'alias/lake', access_key_id: 'AKIASLUICETEST0001', secret_access_key: SECRET });
    const noEnv = {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    };
    const since = s3.requests.length;
    const r = await sluice(ws, ['run', 'github'], noEnv);
    expect(r.code, show(r)).toBe(0);
    const uploads = s3.puts(since).filter((p) => !/partNumber=/.test(p.url));
    expect(uploads.length).toBeGreaterThan(1);
    expect(
      uploads.filter(
        (u) => u.headers['x-amz-server-side-encryption'] !== 'aws:kms' || u.headers['x-amz-server-side-encryption-aws-kms-key-id'] !== 'alias/lake',
      ),
    ).toEqual([]);
    expect(uploads.some((u) => u.path === 'sse/raw/_state/github/events.json')).toBe(true);
    const leaks = [r.stdout, r.stderr, ...listFiles(ws.stateDir).map((f) => fs.readFileSync(path.join(ws.stateDir, f)).toString('latin1'))];
    expect(leaks.filter((t) => t.includes(SECRET))).toEqual([]);
    expect(s3.requests.slice(since).filter((q) => JSON.stringify(q.headers).includes(SECRET))).toEqual([]);
  });

  it('exits 2 with a message that says what is wrong: missing bucket, unreachable endpoint, access denied', async () => {
    const missing = await sluice(workspace('s3-missing', 'no-such-bucket'), ['run', 'github']);
    expect(missing.code, show(missing)).toBe(2);
    expect(missing.stdout + missing.stderr).toContain('bucket "no-such-bucket" does not exist');
    await expect(s3.listKeys('no-such-bucket')).rejects.toBeTruthy();

    const nowhere = await sluice(workspace('s3-nowhere', 'lake', { endpoint: 'http://127.0.0.1:9' }), ['sync', 'github']);
    expect(nowhere.code, show(nowhere)).toBe(2);
    expect(nowhere.stdout + nowhere.stderr).toContain('cannot reach http://127.0.0.1:9');

    const denied = await sluice(workspace('s3-denied', 'lake', { access_key_id: 'AKIANOBODY', secret_access_key: SECRET }), ['run', 'github']);
    expect(denied.code, show(denied)).toBe(2);
    expect(denied.stdout + denied.stderr).toContain('access denied');
    expect(denied.stdout + denied.stderr).toContain('storage.access_key_id');
    for (const out of [missing, nowhere, denied]) expect(out.stdout + out.stderr).not.toContain(SECRET);
  });

  it('--dev writes to ./s3_dev and makes no S3 request', async () => {
    const ws = workspace('s3-dev', 'lake');
    const since = s3.requests.length;
    const r = await sluice(ws, ['--dev', 'run', 'github']);
    expect(r.code, show(r)).toBe(0);
    expect(s3.requests.length).toBe(since);
    expect(listFiles(path.join(ws.dir, 's3_dev')).filter((f) => /^github\/events\/dt=/.test(f)).length).toBeGreaterThan(0);
  });
});
