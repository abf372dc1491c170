import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { TableSpec } from '../src/core/warehouse.js';
import { sizeInBytes } from '../src/warehouse/duckdb/config.js';
import { MAX_LINE } from '../src/warehouse/duckdb/load-sql.js';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/warehouse.js';
import { queryDuck, runCli, tempDir, writeConfig } from './support/workspace.js';

/**
 * DuckDB's JSON functions hold every parsed row of a vector (2,048 rows) at once, at about 16
 * bytes per value: rows dense with values (arrays of numbers) need far more than their size.
 */
describe('DuckDB: rows dense with values under the default memory cap', () => {
  const spec: TableSpec = { source: 'api', stream: 'series', mode: 'cursor', primaryKey: ['id'] };

  async function load(name: string, lines: string[]) {
    const dir = tempDir(name);
    const file = path.join(dir, 'warehouse.duckdb');
    const batchFile = path.join(dir, 'batch.jsonl.gz');
    fs.writeFileSync(batchFile, zlib.gzipSync(`${lines.join('\n')}\n`));
    const key = 'api/series/dt=2025-01-01/hr=00/p1.jsonl.gz';
    const wh = await DuckDbWarehouse.open(file);
    try {
      const batch = { key, version: 'v1', size: fs.statSync(batchFile).size, checksum: 'c1', partitionMs: Date.UTC(2025, 0, 1), file: batchFile };
      const result = await wh.load(spec, [batch], 'run-1');
      return { dir, file, result };
    } finally {
      await wh.close();
    }
  }

  it('6,000 rows of ~4 KB arrays of numbers load whole, their schema learnt, without raising the cap', async () => {
    const values = `${'1,'.repeat(2047)}1`;
    const lines = Array.from({ length: 6000 }, (_, i) => `{"id":"${i}","points":[${values}]}`);
    const { dir, file, result } = await load('wh-duckdb-dense', lines);
    expect(result).toEqual([{ rows: 6000, rejected: 0 }]);
    const rows = await queryDuck<{ n: string; len: string }>(file, "SELECT count(*) AS n, min(json_array_length(data, '$.points')) AS len FROM raw.api_series");
    expect(rows.map((r) => [Number(r.n), Number(r.len)])).toEqual([[6000, 2048]]);
    const schema = await queryDuck<{ path: string; rows: string }>(file, 'SELECT path, rows FROM sluice._schema ORDER BY path');
    expect(schema.map((r) => [r.path, Number(r.rows)])).toEqual([
      ['id', 6000],
      ['points', 6000],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('the next group of the same stream loads as narrowly as the last one needed, and whole', async () => {
    const dir = tempDir('wh-duckdb-dense-next');
    const file = path.join(dir, 'warehouse.duckdb');
    const values = `${'1,'.repeat(4095)}1`;
    const wh = await DuckDbWarehouse.open(file);
    try {
      for (const hour of [0, 1]) {
        const batchFile = path.join(dir, `b${hour}.jsonl.gz`);
        const lines = Array.from({ length: 3000 }, (_, i) => `{"id":"${hour}-${i}","points":[${values}]}`);
        fs.writeFileSync(batchFile, zlib.gzipSync(`${lines.join('\n')}\n`));
        const key = `api/series/dt=2025-01-01/hr=0${hour}/p1.jsonl.gz`;
        const batch = { key, version: 'v1', size: fs.statSync(batchFile).size, checksum: `c${hour}`, partitionMs: Date.UTC(2025, 0, 1, hour), file: batchFile };
        expect(await wh.load(spec, [batch], 'run-1')).toEqual([{ rows: 3000, rejected: 0 }]);
      }
    } finally {
      await wh.close();
    }
    const rows = await queryDuck<{ n: string }>(file, 'SELECT count(DISTINCT id) AS n FROM raw.api_series');
    expect(Number(rows[0]?.n)).toBe(6000);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('a row that alone needs more than the cap (a 4 MiB array of numbers) loads with a larger cap for its group, and says so', async () => {
    const dense = `{"id":"2","points":[${'1,'.repeat(Math.floor((MAX_LINE - 64) / 2) - 1)}1]}`;
    const { dir, file, result } = await load('wh-duckdb-dense-line', ['{"id":"1"}', dense, '{"id":"3"}']);
    expect(result).toEqual([{ rows: 3, rejected: 0, memoryRaisedTo: expect.stringMatching(/^\d+MiB$/) }]);
    expect(sizeInBytes(result[0]?.memoryRaisedTo ?? '')).toBeGreaterThanOrEqual(2 ** 30);
    const rows = await queryDuck<{ id: string; n: string }>(file, 'SELECT id, length(CAST(data AS VARCHAR)) AS n FROM raw.api_series ORDER BY id');
    expect(rows.map((r) => [r.id, Number(r.n)])).toEqual([
      ['1', 10],
      ['2', dense.length],
      ['3', 10],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('reads DuckDB sizes as DuckDB does', () => {
    expect(sizeInBytes('64MB')).toBe(64e6);
    expect(sizeInBytes('1.5GB')).toBe(1.5e9);
    expect(sizeInBytes('512MiB')).toBe(512 * 2 ** 20);
    expect(sizeInBytes('lots')).toBeUndefined();
  });
});

describe('sluice load: a group loaded with a larger memory cap', () => {
  it('is a warning in the run record and the log, and the rows are loaded', async () => {
    const dir = tempDir('cli-dense');
    const hourDir = path.join(dir, 'lake', 'github', 'events', 'dt=2026-01-07', 'hr=00');
    fs.mkdirSync(hourDir, { recursive: true });
    const dense = `{"id":"2","type":"WatchEvent","created_at":"2026-01-07T00:10:00Z","payload":{"points":[${'1,'.repeat(2 * 1024 * 1024 - 64)}1]}}`;
    const small = (id: string) => JSON.stringify({ id, type: 'WatchEvent', created_at: '2026-01-07T00:20:00Z', payload: {} });
    fs.writeFileSync(path.join(hourDir, 'part-1.jsonl.gz'), zlib.gzipSync(`${small('1')}\n${dense}\n${small('3')}\n`));
    writeConfig(dir, {
      state_dir: './state',
      storage: { type: 'local', path: './lake' },
      warehouse: { type: 'duckdb', path: './warehouse.duckdb' },
      sources: [{ name: 'github', type: 'github', repos: ['acme/widgets'] }],
    });
    const r = await runCli(['--json', 'load', 'github'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as { streams: Array<{ loaded_rows: number; warnings: Array<{ code: string; message: string }> }> };
    expect(record.streams[0]?.loaded_rows).toBe(3);
    expect(record.streams[0]?.warnings).toEqual([
      expect.objectContaining({
        code: 'load_memory_raised',
        message: expect.stringMatching(/part-1\.jsonl\.gz: rows too dense with values .*; loaded with \d+MiB/),
      }),
    ]);
    expect(r.stderr).toContain('load.memory.raised');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
