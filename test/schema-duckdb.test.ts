import fs from 'node:fs';
import path from 'node:path';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/warehouse.js';
import { schemaContract } from './schema-contract.js';
import { queryDuck, tempDir } from './support/workspace.js';
import type { RawRow, RejectRow } from './warehouse-contract.js';

const qi = (name: string) => `"${name.replace(/"/g, '""')}"`;

schemaContract('DuckDB', async () => {
  const dir = tempDir('schema-duckdb');
  const file = path.join(dir, 'warehouse.duckdb');
  return {
    open: () => DuckDbWarehouse.open(file),
    async rows(table, keys) {
      const found = await queryDuck<Record<string, string>>(
        file,
        `SELECT ${keys.map(qi).join(', ')}, CAST(data AS VARCHAR) AS data FROM raw.${qi(table)}`,
      ).catch(() => undefined);
      return found
        ?.map((r): RawRow => ({ keys: keys.map((k) => String(r[k])), data: JSON.parse(String(r.data)), batch: '', partition: '' }))
        .sort((a, b) => Number(a.keys[0]) - Number(b.keys[0]));
    },
    async rejects() {
      const found = await queryDuck<Record<string, string>>(file, 'SELECT * FROM sluice._rejects ORDER BY batch_key, line_number');
      return found.map(
        (r): RejectRow => ({ batch_key: r.batch_key!, line_number: Number(r.line_number), reason: r.reason!, line: r.line!, run_id: r.run_id! }),
      );
    },
    loads: async () => [],
    loadTimes: async () => [],
    async dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
