import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { TableSpec } from '../src/core/warehouse.js';
import { MAX_LINE } from '../src/warehouse/duckdb/load-sql.js';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/warehouse.js';
import { queryDuck, tempDir } from './support/workspace.js';
import { type LoadRow, type RawRow, type RejectRow, warehouseContract } from './warehouse-contract.js';

const qi = (name: string) => `"${name.replace(/"/g, '""')}"`;

warehouseContract('DuckDB', async () => {
  const dir = tempDir('wh-duckdb');
  const file = path.join(dir, 'warehouse.duckdb');
  return {
    open: () => DuckDbWarehouse.open(file),
    async rows(table, keys) {
      const exists = await queryDuck<{ n: string }>(
        file,
        `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = '${table}'`,
      );
      if (Number(exists[0]?.n) === 0) return undefined;
      const found = await queryDuck<Record<string, string>>(
        file,
        `SELECT ${keys.map(qi).join(', ')}, CAST(data AS VARCHAR) AS data, _sluice_batch, CAST(_sluice_partition AS VARCHAR) AS p FROM raw.${qi(table)}`,
      );
      return found
        .map((r): RawRow => ({ keys: keys.map((k) => String(r[k])), data: JSON.parse(String(r.data)), batch: String(r._sluice_batch), partition: String(r.p) }))
        .sort((a, b) => a.keys.join('\u0000').localeCompare(b.keys.join('\u0000')));
    },
    async rejects() {
      const found = await queryDuck<Record<string, string>>(file, 'SELECT * FROM sluice._rejects ORDER BY batch_key, line_number');
      return found.map(
        (r): RejectRow => ({ batch_key: r.batch_key!, line_number: Number(r.line_number), reason: r.reason!, line: r.line!, run_id: r.run_id! }),
      );
    },
    async loads() {
      const found = await queryDuck<Record<string, string | null>>(
        file,
        'SELECT *, CAST(loaded_at AS VARCHAR) AS loaded_at_text FROM sluice._loads ORDER BY batch_key',
      );
      return found.map(
        (r): LoadRow => ({
          batch_key: r.batch_key!,
          source: r.source!,
          stream: r.stream!,
          version: r.version!,
          checksum: r.checksum ?? null,
          size: Number(r.size),
          rows: Number(r.rows),
          rejected: Number(r.rejected),
          run_id: r.run_id!,
          loaded_at: r.loaded_at_text!,
        }),
      );
    },
    async loadTimes(table) {
      const found = await queryDuck<{ t: string }>(file, `SELECT CAST(_sluice_loaded_at AS VARCHAR) AS t FROM raw.${qi(table)} ORDER BY t`).catch(() => []);
      return found.map((r) => r.t);
    },
    async dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('DuckDB: a line longer than the reader takes', () => {
  /** Loads one batch whose second line is `middle` between two small rows; returns the warehouse file and the load's result. */
  async function loadAround(name: string, middle: string) {
    const dir = tempDir(name);
    const file = path.join(dir, 'warehouse.duckdb');
    const batchFile = path.join(dir, 'batch.jsonl.gz');
    fs.writeFileSync(batchFile, zlib.gzipSync(`{"id":"1"}\n${middle}\n{"id":"3"}\n`));
    const spec: TableSpec = { source: 'api', stream: 'items', mode: 'cursor', primaryKey: ['id'] };
    const key = 'api/items/dt=2025-01-01/hr=00/p1.jsonl.gz';
    const wh = await DuckDbWarehouse.open(file);
    try {
      const result = await wh.load(
        spec,
        [{ key, version: 'v1', size: fs.statSync(batchFile).size, checksum: 'c1', partitionMs: Date.UTC(2025, 0, 1), file: batchFile }],
        'run-1',
      );
      return { dir, file, result };
    } finally {
      await wh.close();
    }
  }

  it('goes to sluice._rejects whole, with its line number; the lines around it load', async () => {
    const long = JSON.stringify({ id: '2', big: 'x'.repeat(MAX_LINE) });
    const { dir, file, result } = await loadAround('wh-duckdb-long', long);
    expect(result).toEqual([{ rows: 2, rejected: 1 }]);
    const ids = await queryDuck<{ id: string }>(file, 'SELECT id FROM raw.api_items ORDER BY id');
    expect(ids.map((r) => r.id)).toEqual(['1', '3']);
    const rejects = await queryDuck<{ line_number: string; reason: string; n: string }>(
      file,
      'SELECT line_number, reason, length(line) AS n FROM sluice._rejects',
    );
    expect(rejects.map((r) => [Number(r.line_number), r.reason, Number(r.n)])).toEqual([[2, 'line longer than 4 MiB', long.length]]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a line just within it loads whole under the default memory cap, with the lines around it', async () => {
    const wide = JSON.stringify({ id: '2', big: 'x'.repeat(MAX_LINE - 4096) });
    const { dir, file, result } = await loadAround('wh-duckdb-wide', wide);
    expect(result).toEqual([{ rows: 3, rejected: 0 }]);
    const rows = await queryDuck<{ id: string; n: string }>(file, 'SELECT id, length(CAST(data AS VARCHAR)) AS n FROM raw.api_items ORDER BY id');
    expect(rows.map((r) => [r.id, Number(r.n)])).toEqual([
      ['1', 10],
      ['2', wide.length],
      ['3', 10],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
