import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchToLoad, TableSpec } from '../src/core/warehouse.js';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/warehouse.js';
import { removeDir } from './support/github.js';
import { execDuck, queryDuck, tempDir } from './support/workspace.js';

const HOUR = Date.parse('2024-05-01T10:00:00Z');
const events: TableSpec = { source: 'gh', stream: 'events', mode: 'cursor', primaryKey: ['id'] };

let dir: string;
let dbFile: string;
let wh: DuckDbWarehouse | undefined;

beforeEach(async () => {
  dir = tempDir('duckdb');
  dbFile = path.join(dir, 'warehouse.duckdb');
  wh = await DuckDbWarehouse.open(dbFile);
});
afterEach(async () => {
  await wh?.close();
  wh = undefined;
  removeDir(dir);
});

/** Writes a gzip JSON Lines batch; `lines` are written as given, one per line. */
function batch(name: string, lines: string[], source = 'gh', stream = 'events'): BatchToLoad {
  const file = path.join(dir, `${name}.jsonl.gz`);
  fs.writeFileSync(file, zlib.gzipSync(`${lines.join('\n')}\n`));
  const checksum = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  return {
    key: `${source}/${stream}/dt=2024-05-01/hr=10/${name}.jsonl.gz`,
    version: `v-${name}`,
    size: fs.statSync(file).size,
    checksum,
    partitionMs: HOUR,
    file,
  };
}

const line = (v: unknown) => JSON.stringify(v);

/** Reads the warehouse after closing it (DuckDB lets one process hold a file for writing). */
async function query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  await wh?.close();
  wh = undefined;
  const rows = await queryDuck<T>(dbFile, sql);
  wh = await DuckDbWarehouse.open(dbFile);
  return rows;
}

const table = async (name = 'raw.gh_events') =>
  (await query<{ id: string; data: string; _sluice_batch: string }>(`SELECT id, CAST(data AS VARCHAR) AS data, _sluice_batch FROM ${name} ORDER BY id`)).map(
    (r) => ({ id: r.id, data: JSON.parse(r.data) as Record<string, unknown>, batch: r._sluice_batch }),
  );

describe('DuckDbWarehouse.load: merge on the key', () => {
  it('creates raw.<source>_<stream> and loads every line of a batch', async () => {
    const b = batch('b1', [line({ id: '1', v: 'a' }), line({ id: '2', v: 'b' })]);
    expect(await wh!.load(events, [b], 'run-1')).toEqual([{ rows: 2, rejected: 0 }]);
    expect(await table()).toEqual([
      { id: '1', data: { id: '1', v: 'a' }, batch: b.key },
      { id: '2', data: { id: '2', v: 'b' }, batch: b.key },
    ]);
    const [meta] = await query<{ p: string; loaded: boolean }>(
      `SELECT CAST(_sluice_partition AS VARCHAR) AS p, _sluice_loaded_at IS NOT NULL AS loaded FROM raw.gh_events LIMIT 1`,
    );
    expect(meta).toEqual({ p: '2024-05-01 10:00:00', loaded: true });
  });

  it('a later batch updates a row instead of adding a duplicate', async () => {
    await wh!.load(events, [batch('b1', [line({ id: '1', v: 'old' }), line({ id: '2', v: 'b' })])], 'run-1');
    const b2 = batch('b2', [line({ id: '1', v: 'new' })]);
    await wh!.load(events, [b2], 'run-2');
    expect((await table()).map((r) => [r.id, r.data.v, r.batch])).toEqual([
      ['1', 'new', b2.key],
      ['2', 'b', expect.stringContaining('b1')],
    ]);
  });

  it('in one transaction, batches apply in the order given', async () => {
    await wh!.load(events, [batch('b1', [line({ id: '1', v: 'first' })]), batch('b2', [line({ id: '1', v: 'second' })])], 'run-1');
    expect((await table()).map((r) => r.data.v)).toEqual(['second']);
  });

  it('a key twice inside one batch keeps the last line', async () => {
    const results = await wh!.load(events, [batch('b1', [line({ id: '1', v: 'a' }), line({ id: '2', v: 'x' }), line({ id: '1', v: 'z' })])], 'run-1');
    expect(results).toEqual([{ rows: 3, rejected: 0 }]);
    expect((await table()).map((r) => [r.id, r.data.v])).toEqual([
      ['1', 'z'],
      ['2', 'x'],
    ]);
  });

  it('numeric keys are stored as their text', async () => {
    await wh!.load(events, [batch('b1', [line({ id: 28281984012, v: 1 })])], 'run-1');
    expect((await table()).map((r) => r.id)).toEqual(['28281984012']);
  });

  it('merges on a composite key', async () => {
    const spec: TableSpec = { source: 'gh', stream: 'pairs', mode: 'cursor', primaryKey: ['a', 'b'] };
    const b1 = batch('p1', [line({ a: 1, b: 1, v: 'x' }), line({ a: 1, b: 2, v: 'y' }), line({ a: 2, b: 1, v: 'z' })], 'gh', 'pairs');
    const b2 = batch('p2', [line({ a: 1, b: 2, v: 'y2' }), line({ a: 1, v: 'no b' })], 'gh', 'pairs');
    await wh!.load(spec, [b1], 'run-1');
    expect(await wh!.load(spec, [b2], 'run-2')).toEqual([{ rows: 1, rejected: 1 }]);
    const rows = await query<{ a: string; b: string; v: string }>(`SELECT a, b, data->>'v' AS v FROM raw.gh_pairs ORDER BY a, b`);
    expect(rows).toEqual([
      { a: '1', b: '1', v: 'x' },
      { a: '1', b: '2', v: 'y2' },
      { a: '2', b: '1', v: 'z' },
    ]);
    const [reject] = await query<{ reason: string; line_number: string }>('SELECT reason, line_number FROM sluice._rejects');
    expect(reject).toEqual({ reason: 'missing primary key: b', line_number: '2' });
  });
});

describe('DuckDbWarehouse.load: rejects', () => {
  it('sends invalid JSON, non-objects and lines without the key to _rejects with their line numbers', async () => {
    const lines = [
      line({ id: '1' }), // 1
      '{"id": "2", broken', // 2
      '', // 3: blank, skipped but counted
      '[1,2,3]', // 4
      '42', // 5
      line({ other: true }), // 6
      line({ id: null }), // 7
      line({ id: '8' }), // 8
    ];
    const b = batch('b1', lines);
    expect(await wh!.load(events, [b], 'run-1')).toEqual([{ rows: 2, rejected: 5 }]);
    expect((await table()).map((r) => r.id)).toEqual(['1', '8']);
    const rejects = await query<{ batch_key: string; line_number: string; reason: string; line: string; run_id: string }>(
      'SELECT batch_key, line_number, reason, line, run_id FROM sluice._rejects ORDER BY line_number',
    );
    expect(rejects.map((r) => [Number(r.line_number), r.line])).toEqual([
      [2, lines[1]],
      [4, lines[3]],
      [5, lines[4]],
      [6, lines[5]],
      [7, lines[6]],
    ]);
    expect(rejects.every((r) => r.batch_key === b.key && r.run_id === 'run-1')).toBe(true);
    expect(rejects.map((r) => r.reason)).toEqual([
      'not a JSON object',
      'not a JSON object',
      'not a JSON object',
      'missing primary key: id',
      'missing primary key: id',
    ]);
    const [ledger] = await query<{ rows: string; rejected: string }>('SELECT rows, rejected FROM sluice._loads');
    expect(ledger).toEqual({ rows: '2', rejected: '5' });
  });

  it('reloading a batch with new content replaces its rejects instead of adding them again', async () => {
    await wh!.load(events, [batch('b1', [line({ id: '1' }), 'oops'])], 'run-1');
    await wh!.load(events, [batch('b1', [line({ id: '1', v: 2 }), 'oops'])], 'run-2');
    expect(await query('SELECT line_number, run_id FROM sluice._rejects')).toEqual([{ line_number: '2', run_id: 'run-2' }]);
  });
});

describe('DuckDbWarehouse: full mode, ledger, transactions', () => {
  it('a full load replaces the rows of the table', async () => {
    const spec: TableSpec = { source: 'gh', stream: 'agents', mode: 'full', primaryKey: ['id'] };
    await wh!.load(spec, [batch('s1', [line({ id: '1' }), line({ id: '2' }), line({ id: '3' })], 'gh', 'agents')], 'run-1');
    await wh!.load(spec, [batch('s2a', [line({ id: '3', v: 'new' })], 'gh', 'agents'), batch('s2b', [line({ id: '4' })], 'gh', 'agents')], 'run-2');
    expect((await table('raw.gh_agents')).map((r) => [r.id, r.data.v ?? null])).toEqual([
      ['3', 'new'],
      ['4', null],
    ]);
  });

  it('ledger() returns the loaded batches of a stream with their version and size', async () => {
    const b1 = batch('b1', [line({ id: '1' })]);
    const b2 = batch('b2', [line({ id: '2' })]);
    await wh!.load(events, [b1, b2], 'run-1');
    await wh!.load({ ...events, stream: 'other' }, [batch('o1', [line({ id: '9' })], 'gh', 'other')], 'run-1');
    const ledger = await wh!.ledger('gh', 'events');
    expect([...ledger.keys()].sort()).toEqual([b1.key, b2.key]);
    expect(ledger.get(b1.key)).toEqual({ key: b1.key, version: 'v-b1', size: b1.size, checksum: b1.checksum });
    expect((await wh!.ledger('gh', 'nothing')).size).toBe(0);
    const stats = await wh!.stats(events);
    expect(stats).toMatchObject({ rows: 2, batches: 2, rejected: 0 });
  });

  it('a batch that fails rolls back every batch of its transaction, rows and ledger', async () => {
    const good = batch('good', [line({ id: '1' })]);
    const missing = { ...batch('gone', [line({ id: '2' })]), file: path.join(dir, 'does-not-exist.jsonl.gz') };
    await expect(wh!.load(events, [good, missing], 'run-1')).rejects.toMatchObject({ name: 'SluiceError', retryable: true });
    expect((await wh!.ledger('gh', 'events')).size).toBe(0);
    expect(await table()).toEqual([]);
    expect(await query('SELECT * FROM sluice._rejects')).toEqual([]);
    // And the warehouse still works afterwards.
    expect(await wh!.load(events, [good], 'run-2')).toEqual([{ rows: 1, rejected: 0 }]);
    expect([...(await wh!.ledger('gh', 'events')).keys()]).toEqual([good.key]);
  });
});

describe('DuckDbWarehouse: a ledger from before checksums were kept', () => {
  it('gets the column on open; its rows compare by version until recordVersions fills their checksum', async () => {
    await wh?.close();
    wh = undefined;
    const file = path.join(dir, 'old.duckdb');
    const b = batch('b1', [line({ id: '1' })]);
    await execDuck(
      file,
      `CREATE SCHEMA sluice; CREATE TABLE sluice._loads (
         batch_key VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, stream VARCHAR NOT NULL, version VARCHAR,
         size BIGINT, rows BIGINT NOT NULL, rejected BIGINT NOT NULL, run_id VARCHAR, loaded_at TIMESTAMPTZ NOT NULL);
       INSERT INTO sluice._loads VALUES ('${b.key}', 'gh', 'events', 'v-b1', ${b.size}, 1, 0, 'old-run', now());`,
    );
    const old = await DuckDbWarehouse.open(file);
    try {
      expect((await old.ledger('gh', 'events')).get(b.key)).toEqual({ key: b.key, version: 'v-b1', size: b.size, checksum: undefined });
      // Same version: the row holds it. Another version: it loads again, as before checksums.
      expect(await old.load(events, [b], 'run-1')).toEqual([{ rows: 0, rejected: 0, skipped: true }]);
      await old.recordVersions('gh', 'events', [{ key: b.key, version: 'v-other', checksum: b.checksum }]);
      expect((await old.ledger('gh', 'events')).get(b.key)?.checksum).toBeUndefined(); // not this version: left alone
      await old.recordVersions('gh', 'events', [{ key: b.key, version: 'v-b1', checksum: b.checksum }]);
      expect((await old.ledger('gh', 'events')).get(b.key)).toMatchObject({ version: 'v-b1', checksum: b.checksum });
      expect(await old.load(events, [{ ...b, version: 'v-copied' }], 'run-2')).toEqual([{ rows: 0, rejected: 0, skipped: true }]);
    } finally {
      await old.close();
    }
    // Opening it again changes nothing.
    const again = await DuckDbWarehouse.open(file);
    await again.close();
    const rows = await queryDuck<{ run_id: string; checksum: string }>(file, 'SELECT run_id, checksum FROM sluice._loads');
    expect(rows).toEqual([{ run_id: 'old-run', checksum: b.checksum }]);
  });
});
