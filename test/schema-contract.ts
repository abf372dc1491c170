import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONTRACT, type SchemaContract } from '../src/core/schema.js';
import type { BatchToLoad, TableSpec, Warehouse } from '../src/core/warehouse.js';
import { tempDir } from './support/workspace.js';
import type { WarehouseUnderTest } from './warehouse-contract.js';

const HOUR = Date.parse('2026-03-01T10:00:00Z');
const line = (v: unknown) => JSON.stringify(v);

/**
 * DESIGN §9, the same suite for every warehouse that keeps a schema: the baseline, new and nested
 * fields, type changes (integer → number included), nulls, idempotence, frozen contracts, the
 * depth cap, odd names, and a failed load that teaches nothing.
 */
export function schemaContract(name: string, fresh: () => Promise<WarehouseUnderTest>): void {
  describe(`${name}: the schema contract (DESIGN §9)`, () => {
    let dir: string;
    let db: WarehouseUnderTest;
    let wh: Warehouse;
    let made = 0;

    beforeEach(async () => {
      dir = tempDir('schema-contract');
      db = await fresh();
      wh = await db.open();
    });
    afterEach(async () => {
      await wh.close();
      await db.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const spec = (contract: Partial<SchemaContract> = {}, stream = 'accounts'): TableSpec => ({
      source: 'crm',
      stream,
      mode: 'cursor',
      primaryKey: ['id'],
      schema: { ...DEFAULT_CONTRACT, ...contract },
    });
    function batch(t: TableSpec, lines: string[]): BatchToLoad {
      made++;
      const file = path.join(dir, `b${made}.jsonl.gz`);
      fs.writeFileSync(file, zlib.gzipSync(lines.map((l) => `${l}\n`).join('')));
      const hour = new Date(HOUR + made * 3_600_000).toISOString();
      return {
        key: `${t.source}/${t.stream}/dt=${hour.slice(0, 10)}/hr=${hour.slice(11, 13)}/p${made}.jsonl.gz`,
        version: `v${made}`,
        size: fs.statSync(file).size,
        checksum: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
        partitionMs: HOUR + made * 3_600_000,
        file,
      };
    }
    const load = (t: TableSpec, lines: string[], runId = `run-${made + 1}`) => {
      const b = batch(t, lines);
      return wh.load(t, [b], runId).then((r) => ({ b, r: r[0]! }));
    };
    const fields = async (t: TableSpec) => Object.fromEntries((await wh.schema!(t.source, t.stream)).fields.map((f) => [f.path, f]));
    const types = async (t: TableSpec) => Object.fromEntries(Object.entries(await fields(t)).map(([p, f]) => [p, f.types]));
    const changes = async (t: TableSpec) =>
      (await wh.schemaChanges!(t.source, t.stream)).map((c) => ({
        path: c.path,
        kind: c.kind,
        before: c.typesBefore,
        after: c.typesAfter,
        batch: c.batch,
        line: c.line,
      }));
    /** Reads the rejects with the warehouse closed (DuckDB lets one process hold its file). */
    const rejects = async () => {
      await wh.close();
      try {
        return await db.rejects();
      } finally {
        wh = await db.open();
      }
    };
    const ids = async (t: TableSpec) => {
      await wh.close();
      try {
        return ((await db.rows(`${t.source}_${t.stream}`, t.primaryKey)) ?? []).map((r) => r.keys[0]);
      } finally {
        wh = await db.open();
      }
    };

    it('the first load sets the baseline: every path with its types, rows and batches, and no drift', async () => {
      const t = spec();
      const { b, r } = await load(t, [
        line({ id: 1, name: 'a', score: 1.5, active: true, tags: ['x'], meta: { plan: 'pro', seats: 3 } }),
        line({ id: 2, name: 'b', score: 2.25, active: false, tags: [], meta: { plan: 'free' } }),
      ]);
      expect(r.schemaChanges).toBeUndefined();
      expect(await types(t)).toEqual({
        id: ['integer'],
        name: ['string'],
        score: ['number'],
        active: ['boolean'],
        tags: ['array'],
        meta: ['object'],
        'meta.plan': ['string'],
        'meta.seats': ['integer'],
      });
      const f = await fields(t);
      expect([f.id?.rows, f['meta.seats']?.rows, f['meta.seats']?.firstBatch, f['meta.seats']?.lastBatch]).toEqual([2, 1, b.key, b.key]);
      expect(await changes(t)).toEqual([]);
      expect((await wh.schema!('crm', 'accounts')).rows).toBe(2);
    });

    it('the baseline covers every row of a large first load, not only its first ones', async () => {
      const t = spec();
      const lines = Array.from({ length: 600 }, (_, i) => line({ id: i, v: 'x', ...(i === 580 ? { late: { deep: 1 } } : {}), ...(i === 599 ? { v: 3 } : {}) }));
      await load(t, lines);
      expect(await types(t)).toEqual({ id: ['integer'], v: ['string', 'integer'], late: ['object'], 'late.deep': ['integer'] });
      expect([(await fields(t)).id?.rows, (await fields(t)).late?.rows]).toEqual([600, 1]);
      expect(await changes(t)).toEqual([]);
    });

    it('a new field and a new nested field are drift: one row each, naming the batch and the first line that carried it', async () => {
      const t = spec();
      const { b: b1 } = await load(t, [line({ id: 1, meta: { plan: 'pro' } })]);
      const { b: b2, r } = await load(t, [
        line({ id: 2, meta: { plan: 'pro' } }),
        line({ id: 3, meta: { plan: 'pro', trial: true } }),
        line({ id: 4, region: 'eu', meta: { plan: 'free', trial: false } }),
        line({ id: 5, region: 'us', meta: { plan: 'free' } }),
      ]);
      const want = [
        { path: 'meta.trial', kind: 'new_field', before: [], after: ['boolean'], batch: b2.key, line: 2 },
        { path: 'region', kind: 'new_field', before: [], after: ['string'], batch: b2.key, line: 3 },
      ];
      expect(await changes(t)).toEqual(want);
      expect(r.schemaChanges?.map((c) => [c.path, c.kind, c.line])).toEqual(want.map((c) => [c.path, c.kind, c.line]));
      const f = await fields(t);
      expect([f.region?.rows, f['meta.trial']?.rows, f.id?.rows, f.id?.firstBatch, f.id?.lastBatch, f.region?.firstBatch]).toEqual([
        2,
        2,
        5,
        b1.key,
        b2.key,
        b2.key,
      ]);
    });

    it('a type change is drift, integer → number included (2.0 is a number); a null never is', async () => {
      const t = spec();
      await load(t, [line({ id: 1, n: 5, name: 'a', label: 'x' })]);
      const { b } = await load(t, [
        line({ id: 2, n: 6, name: null, label: 'y' }),
        '{"id": 3, "n": 2.0, "name": "c", "label": "z"}',
        line({ id: 4, n: 7.5, name: 'd', label: 7 }),
      ]);
      expect(await changes(t)).toEqual([
        { path: 'n', kind: 'type_change', before: ['integer'], after: ['integer', 'number'], batch: b.key, line: 2 },
        { path: 'label', kind: 'type_change', before: ['string'], after: ['string', 'integer'], batch: b.key, line: 3 },
      ]);
      const f = await fields(t);
      expect([f.name?.types, f.name?.typeRows, f.n?.typeRows]).toEqual([['string', 'null'], { string: 3, null: 1 }, { integer: 2, number: 2 }]);
    });

    it('a load with the same shapes records no drift; the same batch again changes nothing', async () => {
      const t = spec();
      await load(t, [line({ id: 1, a: 'x' })]);
      const { b } = await load(t, [line({ id: 2, a: 'y', extra: 1 })]);
      await load(t, [line({ id: 3, a: 'z', extra: 2 }), line({ id: 4, a: null })]);
      expect((await changes(t)).map((c) => c.path)).toEqual(['extra']);
      const before = await fields(t);
      expect(await wh.load(t, [b], 'run-again')).toEqual([{ rows: 0, rejected: 0, skipped: true }]);
      expect(await fields(t)).toEqual(before);
      expect(before.id?.rows).toBe(4);
    });

    it('new_fields: freeze sends the lines bringing a new path to sluice._rejects, names the path, and teaches nothing; the rest loads', async () => {
      const t = spec({ newFields: 'freeze' });
      await load(t, [line({ id: 1, score: 1.5, meta: { plan: 'pro' } })]);
      const coupon = line({ id: 3, score: 2.5, coupon: 'SAVE', meta: { plan: 'pro' } });
      const referrer = line({ id: 4, score: 1.5, meta: { plan: 'pro', referrer: 'mail' } });
      const { b, r } = await load(t, [
        line({ id: 2, score: 1.5, meta: { plan: 'free' } }),
        coupon,
        referrer,
        line({ id: 5, score: 'high', meta: { plan: 'free' } }),
      ]);
      expect([r.rows, r.rejected]).toEqual([2, 2]);
      expect(await ids(t)).toEqual(['1', '2', '5']);
      const frozen = (await rejects()).filter((x) => x.batch_key === b.key);
      expect(frozen.map((x) => [x.line_number, x.reason, JSON.parse(x.line)])).toEqual([
        [2, 'schema_frozen: coupon', JSON.parse(coupon)],
        [3, 'schema_frozen: meta.referrer', JSON.parse(referrer)],
      ]);
      expect(Object.keys(await fields(t)).sort()).toEqual(['id', 'meta', 'meta.plan', 'score']);
      // A type change is not frozen here: it loads and is recorded.
      expect((await changes(t)).map((c) => [c.path, c.kind])).toEqual([['score', 'type_change']]);
    });

    it('type_changes: freeze rejects the lines bringing a new type; a new field still loads', async () => {
      const t = spec({ typeChanges: 'freeze' });
      await load(t, [line({ id: 1, score: 1.5, name: 'a' })]);
      const { r } = await load(t, [line({ id: 2, score: '2.5', name: 'b' }), line({ id: 3, score: 3.5, name: null, coupon: 'X' })]);
      expect([r.rows, r.rejected]).toEqual([1, 1]);
      expect((await rejects()).map((x) => [x.line_number, x.reason])).toEqual([[1, 'schema_frozen: score']]);
      expect((await types(t)).score).toEqual(['number']);
      expect((await types(t)).name).toEqual(['string', 'null']);
      expect((await changes(t)).map((c) => [c.path, c.kind, c.line])).toEqual([['coupon', 'new_field', 2]]);
    });

    it('follows nesting to max_depth: a deeper field is recorded as its ancestor, an object', async () => {
      const t = spec({ maxDepth: 2 });
      await load(t, [line({ id: 1, a: { b: { c: { d: 1 } }, e: 2 } })]);
      expect(await types(t)).toEqual({ id: ['integer'], a: ['object'], 'a.b': ['object'], 'a.e': ['integer'] });
      await load(t, [line({ id: 2, a: { b: { c: 'x', z: 1 }, e: 3 } })]);
      expect(await changes(t)).toEqual([]);
    });

    it('quotes names with dots, quotes, spaces or nothing: never confused with nesting', async () => {
      const t = spec();
      await load(t, [line({ id: 1, 'a.b': 1, a: { b: 'x' }, 'say "hi"': true, 'first name': 'n', '': 0, é: 1, 'k-1_x': 2 })]);
      expect(Object.keys(await types(t)).sort()).toEqual(['""', '"a.b"', '"first name"', '"say ""hi"""', '"é"', 'a', 'a.b', 'id', 'k-1_x'].sort());
      expect((await types(t))['"a.b"']).toEqual(['integer']);
      expect((await types(t))['a.b']).toEqual(['string']);
      await load(t, [line({ id: 2, 'a.b': 'now text', a: { b: 'y', 'c.d': 1 } })]);
      expect((await changes(t)).map((c) => [c.path, c.kind])).toEqual([
        ['"a.b"', 'type_change'],
        ['a."c.d"', 'new_field'],
      ]);
    });

    it('a key under an object that turns into an array is not read through the array', async () => {
      const t = spec();
      await load(t, [line({ id: 1, m: { '0': 'x' } })]);
      await load(t, [line({ id: 2, m: [5] })]);
      expect(await types(t)).toEqual({ id: ['integer'], m: ['object', 'array'], 'm.0': ['string'] });
      expect((await fields(t))['m.0']?.rows).toBe(1);
    });

    it('lines that are not objects are rejects and teach nothing', async () => {
      const t = spec();
      await load(t, [line({ id: 1, a: 1 })]);
      await load(t, ['[1, 2]', '"text"', 'not json', line({ id: 2, a: 2 })]);
      expect(await types(t)).toEqual({ id: ['integer'], a: ['integer'] });
      expect(await changes(t)).toEqual([]);
    });

    it('a load that fails teaches nothing: the schema commits with the rows or not at all', async () => {
      const t = spec();
      await load(t, [line({ id: 1, a: 1 })]);
      const good = batch(t, [line({ id: 2, a: 2, fresh: 'x' })]);
      const broken = batch(t, []);
      fs.writeFileSync(broken.file!, Buffer.from('not gzip at all'));
      await expect(wh.load(t, [good, broken], 'run-x')).rejects.toThrow();
      expect(Object.keys(await types(t)).sort()).toEqual(['a', 'id']);
      expect(await changes(t)).toEqual([]);
      expect((await fields(t)).id?.rows).toBe(1);
    });

    // Parsed, a row of numbers needs several times its size (DuckDB: ~16 bytes a value for every row of a vector at once).
    it('rows dense with values load whole and teach their schema: 6,000 rows of 2,048 numbers each', async () => {
      const t = spec();
      const values = `${'1,'.repeat(2047)}1`;
      const { r } = await load(
        t,
        Array.from({ length: 6000 }, (_, i) => `{"id":${i},"points":[${values}]}`),
      );
      expect(r).toMatchObject({ rows: 6000, rejected: 0 });
      expect((await fields(t)).points?.rows).toBe(6000);
    }, 120_000);

    it('a row of 4 MiB of numbers loads whole beside small ones', async () => {
      const t = spec();
      const dense = `{"id":2,"points":[${'1,'.repeat(2 * 1024 * 1024 - 32)}1]}`;
      const { r } = await load(t, [line({ id: 1 }), dense, line({ id: 3 })]);
      expect(r).toMatchObject({ rows: 3, rejected: 0 });
      expect(await types(t)).toEqual({ id: ['integer'], points: ['array'] });
      expect((await fields(t)).points?.rows).toBe(1);
    }, 120_000);

    it('an object used as a map (ids as keys) stops at 2,000 paths: the rest are counted as untracked, every row loads', async () => {
      const t = spec();
      const { r } = await load(
        t,
        Array.from({ length: 6000 }, (_, i) => line({ id: i + 1, by_id: { [`u${i}`]: i } })),
      );
      expect(r).toMatchObject({ rows: 6000, rejected: 0, untrackedPaths: 6002 - 2000 });
      const f = await fields(t);
      expect(Object.keys(f)).toHaveLength(2000);
      expect([f.id?.rows, f.by_id?.rows, f['by_id.u0']?.rows, f['by_id.u1997']?.rows, f['by_id.u1998']]).toEqual([6000, 6000, 1, 1, undefined]);
    }, 60_000);

    it('a wide stream (150 fields) is checked like any other, beside a bad line too', async () => {
      const t = spec();
      const wide = (id: number, extra: Record<string, unknown> = {}) =>
        line({ id, ...Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`f${i}`, i])), ...extra });
      await load(t, [wide(1), wide(2)]);
      const { r } = await load(t, [wide(3), 'not json', wide(4, { f7: 'seven', added: true })]);
      expect(r).toMatchObject({ rows: 2, rejected: 1 });
      expect((await changes(t)).map((c) => [c.path, c.kind, c.after, c.line])).toEqual([
        ['added', 'new_field', ['boolean'], 3],
        ['f7', 'type_change', ['string', 'integer'], 3],
      ]);
      expect((await fields(t)).f149?.rows).toBe(4);
    });

    it('track: false learns nothing', async () => {
      const t = spec({ track: false });
      await load(t, [line({ id: 1, a: 1 })]);
      expect((await wh.schema!('crm', 'accounts')).fields).toEqual([]);
    });

    it('says which top-level fields hold ISO-8601 times in every row, and whether some carry an offset', async () => {
      const t = spec();
      await load(t, [
        line({ id: 1, at: '2026-03-01T10:00:00Z', day: '2026-03-01', local: '2026-03-01T10:00:00+02:00', when: '2026-03-01T10:00:00Z', n: 1 }),
        line({ id: 2, at: '2026-03-01 11:30:00.123Z', day: '2026-03-02', local: '2026-03-01T10:00:00Z', when: 'never', n: 2 }),
      ]);
      const times = await wh.timeFields!(t, ['at', 'day', 'local', 'when', 'missing']);
      expect(Object.fromEntries(times)).toEqual({
        at: { iso: true, offsets: false },
        day: { iso: true, offsets: false },
        local: { iso: true, offsets: true },
        when: { iso: false, offsets: false },
        missing: { iso: false, offsets: false },
      });
    });
  });
}
