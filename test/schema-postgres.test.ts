import { afterAll, beforeAll, describe } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { Secret } from '../src/core/redact.js';
import { PostgresWarehouse } from '../src/warehouse/postgres/warehouse.js';
import { schemaContract } from './schema-contract.js';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';
import type { RawRow, RejectRow } from './warehouse-contract.js';

const qi = (name: string) => `"${name.replace(/"/g, '""')}"`;

describe.skipIf(lacks('postgresql'))('PostgreSQL', () => {
  let server: PgServer | undefined;
  let databases = 0;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => stopPostgres(server));

  schemaContract('PostgreSQL', async () => {
    const pgs = server as PgServer;
    const name = `schema_${++databases}`;
    const url = await pgs.database(name);
    const q = <T>(sql: string) => pgs.query<T>(sql, [], name);
    return {
      open: () => PostgresWarehouse.open({ type: 'postgres', url: new Secret(url) }, silentLogger),
      async rows(table, keys) {
        const found = await q<Record<string, unknown>>(`SELECT ${keys.map(qi).join(', ')}, data FROM raw.${qi(table)}`).catch(() => undefined);
        return found
          ?.map((r): RawRow => ({ keys: keys.map((k) => String(r[k])), data: r.data, batch: '', partition: '' }))
          .sort((a, b) => Number(a.keys[0]) - Number(b.keys[0]));
      },
      rejects: () =>
        q<RejectRow>('SELECT batch_key, line_number::int AS line_number, reason, line, run_id FROM sluice._rejects ORDER BY batch_key, line_number'),
      loads: async () => [],
      loadTimes: async () => [],
      async dispose() {},
    };
  });
});
