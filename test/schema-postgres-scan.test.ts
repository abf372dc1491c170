import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSchemaSession } from '../src/warehouse/postgres/schema-sql.js';
import { StructureScanner } from '../src/warehouse/postgres/structure-scan.js';
import type { Observed } from '../src/warehouse/schema-learn.js';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';

const plain = (o: Observed | undefined) =>
  o && Object.fromEntries([...o].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, byType]) => [path, Object.fromEntries([...byType].sort())]));

/** Lines in three batches, meant to disagree wherever a scan of the text could read them otherwise than jsonb. */
const BATCHES = [
  [
    '{"id": 1, "n": 0, "name": "a", "ok": true, "tags": ["x", {"y": 1}], "meta": {"plan": "pro", "seats": 3, "deep": {"er": {"est": 1}}}}',
    '{"id": 2, "n": 2.0, "name": null, "ok": false, "tags": [], "meta": {"plan": null, "seats": 1.5e1}}',
    '',
    '  {"id":3,"n":-0.5,"name":"}{][\\"\\\\","meta":{},"x.y":{"é":1e-2,"":100e-2},"say \\"hi\\"":1}  ',
  ],
  [
    '{"id": 4, "n": 1E+2, "meta": [1, 2], "a\\u0062": "escaped"}',
    '{"ab": null, "\\u00e9t\\u00e9": true}',
    '{"id": 5, "meta": {"plan": {"tier": "gold"}, "deep": "flat"}, "tags": {"k": 1}}',
  ],
  ['{}', '{"id": "6", "n": 12345678901234567890, "meta": {"deep": {"er": [{"est": 2}]}}}'],
];

describe.skipIf(lacks('postgresql'))('PostgreSQL: the COPY’s structure scan reads what the SQL check reads', () => {
  let server: PgServer | undefined;
  let c: pg.Client;
  beforeAll(async () => {
    server = await startPostgres();
    c = new pg.Client({ connectionString: await server.database('scan') });
    await c.connect();
  });
  afterAll(async () => {
    await c?.end();
    stopPostgres(server);
  });

  for (const depth of [1, 2, 3]) {
    it(`paths, types, rows, first lines and batches agree, at depth ${depth}`, async () => {
      const stage = `stage_${depth}`;
      await c.query(`CREATE TABLE ${stage} (b int NOT NULL, n bigint NOT NULL, j jsonb NOT NULL)`);
      const scan = new StructureScanner(depth);
      for (const [b, lines] of BATCHES.entries()) {
        for (const [i, line] of lines.entries()) {
          if (line === '') continue;
          await c.query(`INSERT INTO ${stage} (b, n, j) VALUES ($1, $2, $3::jsonb)`, [b, i + 1, line]);
          scan.line(b, i + 1, Buffer.from(line));
        }
      }
      expect(scan.declined).toBeUndefined();
      const sql = await pgSchemaSession(c, 's', 'x', stage).observe(new Map(), depth);
      expect(plain(scan.observed())).toEqual(plain(sql));
      expect(scan.observed()?.size).toBeGreaterThan(depth === 1 ? 8 : 14);
    });
  }
});
