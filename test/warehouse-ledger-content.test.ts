import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../src/core/warehouse.js';
import { type GithubSim, startGithubSim } from '../src/demo/github-sim.js';
import { planLoad, type StoredBatch } from '../src/pipeline/load-plan.js';
import type { RunRecord } from '../src/pipeline/run-record.js';
import { parseBatchKey } from '../src/storage/layout.js';
import { LocalStore } from '../src/storage/local/index.js';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';
import { type CliResult, execDuck, listFiles, queryDuck, runCli, tempDir, writeConfig } from './support/workspace.js';

/**
 * DESIGN §7: the ledger knows a batch by its content. Through the CLI, as a user meets it: a
 * touched lake, a lake copied to a new `storage.path`, a batch rewritten with new content, and a
 * ledger from before checksums were kept; on DuckDB and PostgreSQL.
 */
const REPOS = ['duckdb/duckdb', 'apache/spark', 'delta-io/delta'];
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const output = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`.slice(-3000);

interface LedgerRow {
  batch_key: string;
  version: string;
  checksum: string | null;
  run_id: string;
}
interface RawRow {
  id: string;
  batch: string;
  at: string;
}
/** How a test reads and changes one warehouse from outside, with sluice not running. */
interface Reader {
  warehouse: unknown;
  ledger(): Promise<LedgerRow[]>;
  rows(): Promise<RawRow[]>;
  exec(sql: string): Promise<void>;
}

let sim: GithubSim;
beforeAll(async () => {
  sim = await startGithubSim({ seed: 92, repos: REPOS, events: 60 });
});
afterAll(() => sim?.close());

/** A workspace whose config can point storage at another folder. */
function workspace(name: string, warehouse: unknown) {
  const dir = tempDir(name);
  const lake = path.join(dir, 'lake');
  const config = (storagePath: string) =>
    writeConfig(dir, {
      state_dir: path.join(dir, 'state'),
      storage: { type: 'local', path: storagePath },
      warehouse,
      sources: [{ name: 'github', type: 'github', base_url: sim.url, repos: REPOS, retry_base_ms: 5 }],
    });
  config(lake);
  const sluice = async (args: string[]) => {
    const r = await runCli(['--json', ...args], { cwd: dir, env: { SLUICE_LOG_LEVEL: 'warn' } });
    expect(r.code, output(r)).toBe(0);
    return JSON.parse(r.stdout) as RunRecord;
  };
  const loaded = async () => (await sluice(['load'])).streams[0]!;
  return { dir, lake, config, sluice, loaded };
}

const batchFiles = (lake: string) =>
  listFiles(lake)
    .filter((k) => parseBatchKey(k))
    .map((k) => ({ key: k, file: path.join(lake, ...k.split('/')) }));
const byKey = <T extends { batch_key: string }>(rows: T[]) => new Map(rows.map((r) => [r.batch_key, r]));
const sorted = (rows: RawRow[]) => [...rows].sort((a, b) => a.id.localeCompare(b.id));

function scenario(name: string, open: () => Promise<Reader>) {
  describe(`${name}: the ledger knows a batch by its content`, () => {
    it('a touched lake and a copied lake reload nothing; a batch rewritten with new content reloads once, alone', { timeout: 180_000 }, async () => {
      const db = await open();
      const ws = workspace(`ledger-${name}`, db.warehouse);
      await ws.sluice(['run', 'github']);
      const batches = batchFiles(ws.lake);
      expect(batches.length).toBeGreaterThan(3);
      const ledger0 = byKey(await db.ledger());
      const rows0 = sorted(await db.rows());
      expect(ledger0.size).toBe(batches.length);
      for (const b of batches) expect(ledger0.get(b.key)?.checksum, b.key).toBe(sha256(b.file));

      // Touched: new mtimes, same bytes. Nothing loads; the ledger takes the new versions.
      const later = new Date(Date.now() + 3_600_000);
      for (const b of batches) fs.utimesSync(b.file, later, later);
      expect((await ws.loaded()).loaded_batches).toBe(0);
      const ledger1 = byKey(await db.ledger());
      expect(sorted(await db.rows())).toEqual(rows0);
      for (const [key, row] of ledger1) {
        expect(row.checksum).toBe(ledger0.get(key)?.checksum);
        expect(row.run_id).toBe(ledger0.get(key)?.run_id);
        expect(row.version, key).not.toBe(ledger0.get(key)?.version);
      }
      expect((await ws.loaded()).loaded_batches).toBe(0);

      // Copied with `cp -r` (new mtimes) and storage.path pointed at the copy.
      const copy = path.join(ws.dir, 'lake-copy');
      fs.cpSync(ws.lake, copy, { recursive: true });
      ws.config(copy);
      expect((await ws.loaded()).loaded_batches).toBe(0);
      expect(sorted(await db.rows())).toEqual(rows0);
      expect((await db.ledger()).length).toBe(batches.length);

      // One batch rewritten (renamed into place, as sluice writes) with one more event.
      const target = batchFiles(copy).find((b) => zlib.gunzipSync(fs.readFileSync(b.file)).toString('utf8').trim() !== '')!;
      const text = zlib.gunzipSync(fs.readFileSync(target.file)).toString('utf8');
      const last = JSON.parse(text.trim().split('\n').at(-1)!) as { id: string };
      const newId = String(rows0.map((r) => BigInt(r.id)).reduce((a, b) => (b > a ? b : a)) + 17n);
      fs.writeFileSync(`${target.file}.new`, zlib.gzipSync(`${text}${JSON.stringify({ ...last, id: newId })}\n`));
      fs.renameSync(`${target.file}.new`, target.file);
      const reload = await ws.loaded();
      expect(reload.loaded_batches).toBe(1);
      const rows2 = await db.rows();
      expect(rows2.filter((r) => r.id === newId)).toHaveLength(1);
      expect(new Set(rows2.map((r) => r.id)).size).toBe(rows2.length);
      const before = new Map(rows0.map((r) => [r.id, r]));
      for (const r of rows2) if (r.batch !== target.key) expect(r, 'a row of another batch was loaded again').toEqual(before.get(r.id));
      expect(byKey(await db.ledger()).get(target.key)?.checksum).toBe(sha256(target.file));
      expect((await ws.loaded()).loaded_batches).toBe(0);
      fs.rmSync(ws.dir, { recursive: true, force: true });
    });

    it('a ledger from before checksums: the next load fills them without loading, and a touch then reloads nothing', { timeout: 180_000 }, async () => {
      const db = await open();
      const ws = workspace(`ledger-old-${name}`, db.warehouse);
      await ws.sluice(['run', 'github']);
      const rows0 = sorted(await db.rows());
      await db.exec('UPDATE sluice._loads SET checksum = NULL');
      expect((await ws.loaded()).loaded_batches).toBe(0);
      const batches = batchFiles(ws.lake);
      const ledger = byKey(await db.ledger());
      for (const b of batches) expect(ledger.get(b.key)?.checksum, b.key).toBe(sha256(b.file));
      const later = new Date(Date.now() + 3_600_000);
      for (const b of batches) fs.utimesSync(b.file, later, later);
      expect((await ws.loaded()).loaded_batches).toBe(0);
      expect(sorted(await db.rows())).toEqual(rows0);
      fs.rmSync(ws.dir, { recursive: true, force: true });
    });
  });
}

scenario('DuckDB', async () => {
  const file = path.join(tempDir('ledger-duck'), 'warehouse.duckdb');
  return {
    warehouse: { type: 'duckdb', path: file },
    ledger: () => queryDuck<LedgerRow>(file, 'SELECT batch_key, version, checksum, run_id FROM sluice._loads'),
    rows: () =>
      queryDuck<RawRow>(file, 'SELECT CAST(id AS VARCHAR) AS id, _sluice_batch AS batch, CAST(_sluice_loaded_at AS VARCHAR) AS at FROM raw.github_events'),
    exec: (sql) => execDuck(file, sql),
  };
});

describe.skipIf(lacks('postgresql'))('PostgreSQL', () => {
  let server: PgServer | undefined;
  let n = 0;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => stopPostgres(server));
  scenario('PostgreSQL', async () => {
    const pgs = server as PgServer;
    const db = `ledger_${++n}`;
    const url = await pgs.database(db);
    return {
      warehouse: { type: 'postgres', url },
      ledger: () => pgs.query<LedgerRow>('SELECT batch_key, version, checksum, run_id FROM sluice._loads', [], db),
      rows: () => pgs.query<RawRow>('SELECT id, _sluice_batch AS batch, _sluice_loaded_at::text AS at FROM raw.github_events', [], db),
      exec: async (sql) => void (await pgs.query(sql, [], db)),
    };
  });
});

describe('planLoad: what a load must do, by content', () => {
  let dir: string;
  let store: LocalStore;
  const hashed: string[] = [];
  beforeAll(() => {
    dir = tempDir('load-plan');
    store = new LocalStore(dir);
    const sha = store.sha256.bind(store);
    store.sha256 = (key: string) => {
      hashed.push(key);
      return sha(key);
    };
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (key: string, text: string) => {
    const file = path.join(dir, ...key.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, zlib.gzipSync(text));
    return file;
  };
  const listed = async (prefix: string): Promise<StoredBatch[]> => {
    const out: StoredBatch[] = [];
    for await (const o of store.list(prefix)) {
      const k = parseBatchKey(o.key)!;
      out.push({ ...o, partitionMs: k.hourMs, part: k.part });
    }
    return out;
  };
  const row = (o: StoredBatch, checksum: string | undefined, version = o.version): LedgerEntry => ({ key: o.key, version, size: o.size, checksum });

  it('a merge stream: new and changed batches load; same content under a new version is recorded; the fast path reads nothing', async () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((p) => `s/m/dt=2026-01-01/hr=10/${p}.jsonl.gz`);
    for (const k of keys) write(k, `{"id":"${k}"}\n`);
    const stored = await listed('s/m/');
    const at = (i: number) => stored.find((o) => o.key === keys[i])!;
    const sum = (i: number) => sha256(path.join(dir, ...keys[i]!.split('/')));
    const ledger = new Map<string, LedgerEntry>([
      [keys[1]!, row(at(1), sum(1))], // same version and checksum: not read
      [keys[2]!, row(at(2), sum(2), 'old-version')], // touched: same content
      [keys[3]!, row(at(3), 'f'.repeat(64), 'old-version')], // rewritten: other content
      [keys[4]!, row(at(4), undefined)], // before checksums, same version: the checksum is filled
      [keys[5]!, row(at(5), undefined, 'old-version')], // before checksums, another version: loaded again
    ]);
    hashed.length = 0;
    const plan = await planLoad(store, ledger, stored, { mode: 'window', checksums: false });
    expect(plan.todo.map((b) => [b.key, b.checksum])).toEqual([
      [keys[0], undefined],
      [keys[3], sum(3)],
      [keys[5], undefined],
    ]);
    expect(plan.same.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: keys[2], version: at(2).version, checksum: sum(2) },
      { key: keys[4], version: at(4).version, checksum: sum(4) },
    ]);
    expect(hashed.sort()).toEqual([keys[2], keys[3], keys[4]]);
    expect(plan.superseded).toBe(0);

    // A warehouse that reads storage gets every checksum from the store.
    const forStage = await planLoad(store, ledger, stored, { mode: 'window', checksums: true });
    expect(forStage.todo.map((b) => b.checksum)).toEqual([sum(0), sum(3), sum(5)]);
  });

  it('a batch that cannot be hashed (gone since the listing) is left to the load, whose group alone then fails', async () => {
    const key = 's/g/dt=2026-01-01/hr=10/a.jsonl.gz';
    const file = write(key, '{"id":"1"}\n');
    const stored = await listed('s/g/');
    fs.rmSync(file);
    const ledger = new Map([[key, row(stored[0]!, 'f'.repeat(64), 'old-version')]]);
    const plan = await planLoad(store, ledger, stored, { mode: 'window', checksums: true });
    expect(plan.todo.map((b) => [b.key, b.checksum])).toEqual([[key, undefined]]);
    expect(plan.same).toEqual([]);
  });

  it('a full stream: only the newest snapshot, and all of it when any of it changed', async () => {
    const old = 's/f/dt=2026-01-01/hr=09/20260101T090000Z.jsonl.gz';
    const a = 's/f/dt=2026-01-01/hr=10/20260101T100000Z.jsonl.gz';
    const b = 's/f/dt=2026-01-01/hr=11/20260101T100000Z.jsonl.gz';
    write(old, '{"id":"0"}\n');
    write(a, '{"id":"1"}\n');
    const bFile = write(b, '{"id":"2"}\n');
    let stored = await listed('s/f/');
    const get = (k: string) => stored.find((o) => o.key === k)!;
    const ledger = new Map<string, LedgerEntry>([
      [a, row(get(a), sha256(path.join(dir, ...a.split('/'))))],
      [b, row(get(b), sha256(bFile))],
    ]);
    const idle = await planLoad(store, ledger, stored, { mode: 'full', checksums: false });
    expect(idle).toMatchObject({ todo: [], same: [], superseded: 1, newest: '20260101T100000Z' });

    write(b, '{"id":"2","v":"new"}\n');
    stored = await listed('s/f/');
    const changed = await planLoad(store, ledger, stored, { mode: 'full', checksums: false });
    expect(changed.todo.map((o) => o.key)).toEqual([a, b]);
    expect(changed.todo[1]!.checksum).toBe(sha256(bFile));
  });
});
