import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchToLoad, TableSpec } from '../src/core/warehouse.js';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/warehouse.js';
import { removeDir } from './support/github.js';
import { queryDuck, tempDir } from './support/workspace.js';

const HOUR = Date.parse('2025-02-01T00:00:00Z');
const events: TableSpec = { source: 'amp', stream: 'events', mode: 'window', primaryKey: ['uuid'] };

let dir: string;
let dbFile: string;

beforeEach(() => {
  dir = tempDir('duckdb-wide');
  dbFile = path.join(dir, 'warehouse.duckdb');
});
afterEach(() => removeDir(dir));

/** An event shaped like Amplitude's export: ~1.2 KB, about 50 field paths, nested objects. */
function event(hour: number, i: number): string {
  const top = Object.fromEntries(Array.from({ length: 32 }, (_, k) => [`field_${k}`, k % 3 === 0 ? i * k : `value ${i} ${k} ${'x'.repeat(12)}`]));
  return JSON.stringify({
    uuid: `${hour}-${i}`,
    ...top,
    user_properties: { plan: i % 2 ? 'pro' : 'free', beta: i % 5 === 0, signup_week: `2025-W${i % 52}` },
    event_properties: { path: `/p/${i}`, referrer: 'https://example.com/some/where', value: i / 7, tags: ['a', 'b'] },
    data: { path: `/d/${i}` },
    groups: {},
    group_properties: {},
  });
}

function batch(hour: number, rows: number): BatchToLoad {
  const file = path.join(dir, `${hour}.jsonl.gz`);
  fs.writeFileSync(file, zlib.gzipSync(`${Array.from({ length: rows }, (_, i) => event(hour, i)).join('\n')}\n`));
  return {
    key: `amp/events/dt=2025-02-01/hr=${String(hour).padStart(2, '0')}/data.jsonl.gz`,
    version: `v${hour}`,
    size: fs.statSync(file).size,
    checksum: `c${hour}`,
    partitionMs: HOUR + hour * 3_600_000,
    file,
  };
}

describe('DuckDbWarehouse.load: wide records under the default memory cap', () => {
  it('loads hours of ~1 KB events one after another while it tracks their schema', async () => {
    const wh = await DuckDbWarehouse.open(dbFile);
    try {
      // The first load learns the schema; the later ones fingerprint every row against it.
      for (const hour of [0, 1, 2]) {
        const [r] = await wh.load(events, [batch(hour, 2500)], 'run-1');
        expect(r).toMatchObject({ rows: 2500, rejected: 0 });
      }
    } finally {
      await wh.close();
    }
    const [row] = await queryDuck<{ n: bigint }>(dbFile, 'SELECT count(*) AS n FROM raw.amp_events');
    expect(Number(row?.n)).toBe(7500);
  }, 60_000);
});
