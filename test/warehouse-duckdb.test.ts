import fs from 'node:fs';
import path from 'node:path';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/index.js';
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
      const found = await queryDuck<Record<string, string>>(file, 'SELECT * FROM sluice._loads ORDER BY batch_key');
      return found.map(
        (r): LoadRow => ({
          batch_key: r.batch_key!,
          source: r.source!,
          stream: r.stream!,
          version: r.version!,
          size: Number(r.size),
          rows: Number(r.rows),
          rejected: Number(r.rejected),
          run_id: r.run_id!,
        }),
      );
    },
    async dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
