import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { BatchToLoad, TableSpec } from '../src/core/warehouse.js';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/warehouse.js';
import { execDuck, queryDuck, tempDir } from './support/workspace.js';

/**
 * The schema check reads the group's stage on a second connection while the load's transaction
 * inserts it; what it learnt is written in that transaction. Whichever side fails, the group
 * commits whole or not at all.
 */
describe('DuckDB: the schema check beside the insert', () => {
  const spec: TableSpec = { source: 'api', stream: 'items', mode: 'cursor', primaryKey: ['id'] };

  function batches(dir: string): BatchToLoad[] {
    return [0, 1, 2].map((hour) => {
      const file = path.join(dir, `b${hour}.jsonl.gz`);
      const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: `${hour}-${i}`, n: i, tags: { a: i % 2 === 0 } }));
      fs.writeFileSync(file, zlib.gzipSync(`${lines.join('\n')}\nnot json\n`));
      const key = `api/items/dt=2025-01-01/hr=0${hour}/p1.jsonl.gz`;
      return { key, version: 'v1', size: fs.statSync(file).size, checksum: `c${hour}`, partitionMs: Date.UTC(2025, 0, 1, hour), file };
    });
  }

  async function loadAll(file: string, group: BatchToLoad[]) {
    const wh = await DuckDbWarehouse.open(file);
    try {
      return await wh.load(spec, group, 'run-1');
    } finally {
      await wh.close();
    }
  }

  const count = async (file: string, sql: string) => Number((await queryDuck<{ n: string }>(file, sql))[0]?.n ?? 0);

  it('a schema check that fails while the insert succeeds leaves nothing of the group; the next load takes it whole, once', async () => {
    const dir = tempDir('wh-duckdb-side');
    const file = path.join(dir, 'warehouse.duckdb');
    const group = batches(dir);
    // Only the check reads what the stream has learnt: a view that fails when it is read breaks the check alone.
    await execDuck(
      file,
      `CREATE SCHEMA sluice; CREATE VIEW sluice._schema AS SELECT 'api' AS source, 'items' AS stream, error('the schema is unreadable')::VARCHAR AS path,
         []::VARCHAR[] AS types, 0::BIGINT AS rows, NULL::JSON AS type_rows, '' AS first_batch, '' AS last_batch, now() AS first_seen_at, now() AS last_seen_at`,
    );
    await expect(loadAll(file, group)).rejects.toThrow(/the schema is unreadable/);
    expect(await count(file, 'SELECT count(*) AS n FROM raw.api_items')).toBe(0);
    expect(await count(file, 'SELECT count(*) AS n FROM sluice._loads')).toBe(0);
    expect(await count(file, 'SELECT count(*) AS n FROM sluice._rejects')).toBe(0);

    await execDuck(file, 'DROP VIEW sluice._schema');
    expect(await loadAll(file, group)).toEqual(group.map(() => ({ rows: 3000, rejected: 1 })));
    expect(await loadAll(file, group)).toEqual(group.map(() => ({ rows: 0, rejected: 0, skipped: true })));
    expect(await count(file, 'SELECT count(DISTINCT id) AS n FROM raw.api_items')).toBe(9000);
    expect(await count(file, 'SELECT count(*) AS n FROM raw.api_items')).toBe(9000);
    expect(await count(file, 'SELECT count(*) AS n FROM sluice._rejects')).toBe(3);
    const schema = await queryDuck<{ path: string; rows: string }>(file, 'SELECT path, rows FROM sluice._schema ORDER BY path');
    expect(schema.map((r) => [r.path, Number(r.rows)])).toEqual([
      ['id', 9000],
      ['n', 9000],
      ['tags', 9000],
      ['tags.a', 9000],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});
