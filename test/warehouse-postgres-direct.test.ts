import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../src/core/logger.js';
import { Secret } from '../src/core/redact.js';
import { DEFAULT_CONTRACT } from '../src/core/schema.js';
import type { BatchToLoad, TableSpec } from '../src/core/warehouse.js';
import { PostgresWarehouse } from '../src/warehouse/postgres/warehouse.js';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';
import { tempDir } from './support/workspace.js';

/** The debug events of the loads, to see which way each group went. */
function recordingLogger(events: Array<{ event: string; fields: Record<string, unknown> }>): Logger {
  const log: Logger = {
    debug: (fields, event) => events.push({ event, fields }),
    info: () => {},
    warn: () => {},
    error: () => {},
    child: () => log,
  };
  return log;
}

const HOUR = Date.parse('2026-03-01T10:00:00Z');

/**
 * A group whose keys are all new is copied straight into the raw table, keyed by the scan of its
 * lines; whatever the scan cannot key as PostgreSQL would, and any conflict, goes through the
 * stage. Either way the table must hold what `data ->> key` says.
 */
describe.skipIf(lacks('postgresql'))('PostgreSQL: a group of new keys is copied straight into its table', () => {
  let server: PgServer | undefined;
  let dir: string;
  let made = 0;
  beforeAll(async () => {
    server = await startPostgres();
    dir = tempDir('pg-direct');
  });
  afterAll(() => {
    stopPostgres(server);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function batch(t: TableSpec, lines: string[]): BatchToLoad {
    made++;
    const file = path.join(dir, `b${made}.jsonl.gz`);
    fs.writeFileSync(file, zlib.gzipSync(lines.map((l) => `${l}\n`).join('')));
    const partitionMs = HOUR + made * 3_600_000;
    return {
      key: `${t.source}/${t.stream}/p${made}\todd.jsonl.gz`,
      version: `v${made}`,
      size: fs.statSync(file).size,
      checksum: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
      partitionMs,
      file,
    };
  }

  async function open(name: string) {
    const url = await (server as PgServer).database(name);
    const events: Array<{ event: string; fields: Record<string, unknown> }> = [];
    const wh = await PostgresWarehouse.open({ type: 'postgres', url: new Secret(url) }, recordingLogger(events));
    const q = <T>(sql: string) => (server as PgServer).query<T>(sql, [], name);
    const ways = () => events.filter((e) => /^load\.(direct|checked)/.test(e.event)).map((e) => e.event);
    return { wh, q, ways, events };
  }

  const spec = (keys: string[], extra: Partial<TableSpec> = {}): TableSpec => ({
    source: 'crm',
    stream: 'people',
    mode: 'cursor',
    primaryKey: keys,
    schema: DEFAULT_CONTRACT,
    ...extra,
  });

  it('keys every line as `->>` reads it: escapes, unicode, tabs and newlines in a key, big integers; partition, batch and load time as a merge writes them', async () => {
    const { wh, q, ways } = await open('direct_keys');
    const t = spec(['id']);
    const ids = ['plain', 'tab\there', 'new\nline', 'back\\slash', 'quote"d', 'häagen 東京 🚀', 'cr\rx', '', '28281984012345678901234', -42, 0, 7];
    const lines = ids.map((id, i) => JSON.stringify({ id, i }));
    lines.push('{"id": "\\u00e9\\t\\ud83d\\ude80", "i": 99}');
    // The line's bytes go to jsonb as they are: JSON's own whitespace (tabs, CR, a CRLF ending)
    // and escapes in values are PostgreSQL's to read.
    lines.push('{\t"id":\r"ws", "i": 100}\r', '{"id": "bs", "i": 101, "p": "a\\\\b\\tc"}');
    const b = batch(t, lines);
    try {
      expect(await wh.load(t, [b], 'run-1')).toEqual([{ rows: 15, rejected: 0 }]);
      expect(ways()).toEqual([]);
      const rows = await q<{ id: string; same: boolean; part: string; batch: string; now: boolean }>(
        `SELECT id, id = data ->> 'id' AS same, _sluice_partition::text AS part, _sluice_batch AS batch,
           _sluice_loaded_at = (SELECT loaded_at FROM sluice._loads) AS now FROM raw.crm_people ORDER BY (data ->> 'i')::int`,
      );
      expect(rows.map((r) => r.id)).toEqual([...ids.map(String), 'é\t🚀', 'ws', 'bs']);
      expect(await q<{ p: string }>(`SELECT data ->> 'p' AS p FROM raw.crm_people WHERE id = 'bs'`)).toEqual([{ p: 'a\\b\tc' }]);
      expect(rows.every((r) => r.same && r.now && r.batch === b.key && r.part === new Date(b.partitionMs).toISOString().slice(0, 19).replace('T', ' '))).toBe(
        true,
      );
      expect((await wh.schema!('crm', 'people')).fields.map((f) => [f.path, f.types, f.rows])).toEqual([
        ['i', ['integer'], 15],
        ['id', ['string', 'integer'], 15],
        ['p', ['string'], 1],
      ]);
    } finally {
      await wh.close();
    }
  });

  it('a key jsonb writes its own way (-0, 1e2, 1.0, true, an object) goes through the stage, keyed by PostgreSQL', async () => {
    const { wh, q, ways } = await open('direct_odd_keys');
    const t = spec(['id']);
    try {
      for (const [n, odd] of ['-0', '1e2', '1.0', 'true', '{"b": 1, "a": 2}'].entries()) {
        expect(await wh.load(t, [batch(t, [`{"id": "s${n}"}`, `{"id": ${odd}, "n": ${n}}`])], `run-${n}`)).toMatchObject([{ rows: 2, rejected: 0 }]);
      }
      expect(ways()).toEqual(Array(5).fill('load.direct.declined'));
      const keys = await q<{ id: string; same: boolean }>("SELECT id, id = data ->> 'id' AS same FROM raw.crm_people WHERE data ? 'n' ORDER BY data -> 'n'");
      expect(keys).toEqual(['0', '100', '1.0', 'true', '{"a": 2, "b": 1}'].map((id) => ({ id, same: true })));
    } finally {
      await wh.close();
    }
  });

  it('a key the table holds, or one the group repeats, rolls the copy back and merges; later groups of that table skip the attempt', async () => {
    const { wh, q, ways, events } = await open('direct_conflict');
    const t = spec(['id']);
    try {
      await wh.load(t, [batch(t, ['{"id": "1", "v": "a"}', '{"id": "2", "v": "a"}'])], 'run-1');
      expect(await wh.load(t, [batch(t, ['{"id": "3", "v": "b"}', '{"id": "1", "v": "b"}'])], 'run-2')).toEqual([{ rows: 2, rejected: 0 }]);
      expect(ways()).toEqual(['load.direct.declined']);
      expect(String(events[0]?.fields.reason)).toMatch(/duplicate key/);
      await wh.load(t, [batch(t, ['{"id": "4", "v": "c"}', '{"id": "4", "v": "d"}'])], 'run-3');
      expect(ways()).toEqual(['load.direct.declined']);
      expect(await q<{ id: string; v: string }>("SELECT id, data ->> 'v' AS v FROM raw.crm_people ORDER BY id")).toEqual([
        { id: '1', v: 'b' },
        { id: '2', v: 'a' },
        { id: '3', v: 'b' },
        { id: '4', v: 'd' },
      ]);
    } finally {
      await wh.close();
    }
    const again = await open('direct_conflict');
    try {
      await again.wh.load(t, [batch(t, ['{"id": "4", "v": "e"}'])], 'run-4');
      expect(again.ways()).toEqual(['load.direct.declined']);
    } finally {
      await again.wh.close();
    }
  });

  it('a group repeating a key within itself keeps its last line', async () => {
    const { wh, q } = await open('direct_dupes');
    const t = spec(['id']);
    try {
      await wh.load(t, [batch(t, ['{"id": "1", "v": "a"}']), batch(t, ['{"id": "1", "v": "b"}', '{"id": "2", "v": "x"}'])], 'run-1');
      expect(await q<{ id: string; v: string }>("SELECT id, data ->> 'v' AS v FROM raw.crm_people ORDER BY id")).toEqual([
        { id: '1', v: 'b' },
        { id: '2', v: 'x' },
      ]);
    } finally {
      await wh.close();
    }
  });

  it('a missing or null key, a bad line, or a line that is not an object: the rest loads, the line is a reject', async () => {
    const { wh, q, ways } = await open('direct_rejects');
    const t = spec(['org', 'num']);
    try {
      const lines = ['{"org": "a", "num": 1}', '{"org": "a"}', '{"org": "b", "num": null}', 'not json', '[1]', '{"org": "c", "num": 2}'];
      expect(await wh.load(t, [batch(t, lines)], 'run-1')).toEqual([{ rows: 2, rejected: 4 }]);
      expect(ways()).toEqual(['load.direct.declined', 'load.checked_path']);
      expect(await q<{ org: string; num: string }>('SELECT org, num FROM raw.crm_people ORDER BY org')).toEqual([
        { org: 'a', num: '1' },
        { org: 'c', num: '2' },
      ]);
      expect((await q<{ n: number }>('SELECT count(*)::int AS n FROM sluice._rejects'))[0]?.n).toBe(4);
    } finally {
      await wh.close();
    }
  });

  it('a frozen contract goes through the stage, where its rejects can leave before the merge', async () => {
    const { wh, q, ways } = await open('direct_frozen');
    const t = spec(['id'], { schema: { ...DEFAULT_CONTRACT, newFields: 'freeze' } });
    try {
      await wh.load(t, [batch(t, ['{"id": "1"}'])], 'run-1');
      expect(await wh.load(t, [batch(t, ['{"id": "2"}', '{"id": "3", "extra": true}'])], 'run-2')).toEqual([{ rows: 1, rejected: 1 }]);
      expect(ways()).toEqual([]);
      expect((await q<{ id: string }>('SELECT id FROM raw.crm_people ORDER BY id')).map((r) => r.id)).toEqual(['1', '2']);
    } finally {
      await wh.close();
    }
  });
});
