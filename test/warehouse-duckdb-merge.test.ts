import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchToLoad, TableSpec } from '../src/core/warehouse.js';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/warehouse.js';
import { removeDir } from './support/github.js';
import { queryDuck, tempDir } from './support/workspace.js';

const H = (hour: number) => Date.parse('2024-05-01T00:00:00Z') + hour * 3_600_000;
const events: TableSpec = { source: 'amp', stream: 'events', mode: 'window', primaryKey: ['id'], keyKeepsItsHour: true };
const records: TableSpec = { source: 'api', stream: 'items', mode: 'cursor', primaryKey: ['id'] };

let dir: string;
let dbFile: string;
let n = 0;

beforeEach(() => {
  dir = tempDir('duckdb-merge');
  dbFile = path.join(dir, 'warehouse.duckdb');
});
afterEach(() => removeDir(dir));

/** A batch of `rows` ({id, v}) filed under `hour`; `part` names it (a run id, or `data` for a window hour). */
function batch(t: TableSpec, hour: number, rows: Array<{ id: string; v: number }>, part = 'data'): BatchToLoad {
  const file = path.join(dir, `${n++}.jsonl.gz`);
  fs.writeFileSync(file, zlib.gzipSync(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`));
  const hh = String(hour).padStart(2, '0');
  return {
    key: `${t.source}/${t.stream}/dt=2024-05-01/hr=${hh}/${part}.jsonl.gz`,
    version: `v${n}`,
    size: fs.statSync(file).size,
    checksum: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
    partitionMs: H(hour),
    file,
  };
}

async function load(t: TableSpec, groups: BatchToLoad[][]): Promise<void> {
  const wh = await DuckDbWarehouse.open(dbFile);
  try {
    for (const g of groups) await wh.load(t, g, 'run');
  } finally {
    await wh.close();
  }
}

const rows = async (table: string) =>
  (
    await queryDuck<{ id: string; v: number; hour: string }>(
      dbFile,
      `SELECT id, CAST(data->>'v' AS INTEGER) AS v, strftime(_sluice_partition, '%H') AS hour FROM ${table} ORDER BY id`,
    )
  ).map((r) => `${r.id}=${r.v}@${r.hour}`);

describe('DuckDB merge of a stream whose keys keep their hour: looked up in the group’s partitions only', () => {
  it('a window hour fetched again replaces its rows, and the hours between the group’s are left alone', async () => {
    await load(events, [
      [
        batch(events, 10, [
          { id: 'a', v: 1 },
          { id: 'b', v: 1 },
        ]),
      ],
      [batch(events, 11, [{ id: 'c', v: 1 }])],
      [batch(events, 12, [{ id: 'd', v: 1 }])],
    ]);
    // Hours 10 and 12 again, in one group: new versions, a new key, one key gone from hour 10.
    await load(events, [
      [
        batch(events, 10, [
          { id: 'a', v: 2 },
          { id: 'e', v: 2 },
        ]),
        batch(events, 12, [{ id: 'd', v: 2 }]),
      ],
    ]);
    expect(await rows('raw.amp_events')).toEqual(['a=2@10', 'b=1@10', 'c=1@11', 'd=2@12', 'e=2@10']);
  });

  it('looks nowhere else: the lookup reads the group’s hours, not the whole table', async () => {
    // Only a source that broke its promise could file one key under two hours; the rows of other
    // hours are then not looked at, which is what keeps each merge's cost off the table's size.
    await load(events, [[batch(events, 10, [{ id: 'a', v: 1 }])], [batch(events, 20, [{ id: 'a', v: 2 }])]]);
    expect(await rows('raw.amp_events')).toEqual(['a=1@10', 'a=2@20']);
  });
});

describe('DuckDB merge of a stream whose records land in the hour of the run', () => {
  it('replaces a key that moved to a later hour, wherever its older row is', async () => {
    await load(records, [
      [
        batch(
          records,
          3,
          [
            { id: 'a', v: 1 },
            { id: 'b', v: 1 },
          ],
          'run1',
        ),
      ],
      [batch(records, 5, [{ id: 'c', v: 1 }], 'run2')],
    ]);
    await load(records, [[batch(records, 9, [{ id: 'a', v: 2 }], 'run3')]]);
    expect(await rows('raw.api_items')).toEqual(['a=2@09', 'b=1@03', 'c=1@05']);
  });
});
