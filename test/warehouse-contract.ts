import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchToLoad, TableSpec, Warehouse } from '../src/core/warehouse.js';
import { tempDir } from './support/workspace.js';

export interface RawRow {
  keys: string[];
  data: unknown;
  batch: string;
  /** `YYYY-MM-DD HH:MM:SS` */
  partition: string;
}

export interface RejectRow {
  batch_key: string;
  line_number: number;
  reason: string;
  line: string;
  run_id: string;
}

export interface LoadRow {
  batch_key: string;
  source: string;
  stream: string;
  version: string;
  checksum: string | null;
  size: number;
  rows: number;
  rejected: number;
  run_id: string;
  /** The load time as text, to see that a skipped load left it alone. */
  loaded_at: string;
}

/** One empty database of a warehouse under test, and reads that go around the plug-in. */
export interface WarehouseUnderTest {
  open(): Promise<Warehouse>;
  /** The rows of `raw.<table>`, sorted by key; undefined when the table does not exist. */
  rows(table: string, keys: readonly string[]): Promise<RawRow[] | undefined>;
  rejects(): Promise<RejectRow[]>;
  loads(): Promise<LoadRow[]>;
  /** `_sluice_loaded_at` of every row of `raw.<table>`, as text, sorted. */
  loadTimes(table: string): Promise<string[]>;
  dispose(): Promise<void>;
}

const HOUR = Date.parse('2026-01-01T10:00:00Z');
const events: TableSpec = { source: 'src', stream: 'events', mode: 'window', primaryKey: ['id'] };
const pairs: TableSpec = { source: 'src', stream: 'pairs', mode: 'cursor', primaryKey: ['org', 'num'] };
const agents: TableSpec = { source: 'src', stream: 'agents', mode: 'full', primaryKey: ['id'] };
const line = (v: unknown) => JSON.stringify(v);

/**
 * The contract every warehouse keeps (DESIGN §3, §7): merge on the key in the order given, full
 * streams replaced by their snapshot, composite keys, rejects with line numbers, the ledger, and a
 * group of batches that commits whole or not at all.
 */
export function warehouseContract(name: string, fresh: () => Promise<WarehouseUnderTest>): void {
  describe(`${name}: the warehouse contract`, () => {
    let dir: string;
    let db: WarehouseUnderTest;
    let wh: Warehouse | undefined;

    beforeEach(async () => {
      dir = tempDir('wh-contract');
      db = await fresh();
      wh = await db.open();
    });
    afterEach(async () => {
      await wh?.close();
      wh = undefined;
      await db.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Reads with the warehouse closed (DuckDB lets one process hold its file), then reopens it. */
    async function read<T>(f: () => Promise<T>): Promise<T> {
      await wh?.close();
      wh = undefined;
      try {
        return await f();
      } finally {
        wh = await db.open();
      }
    }
    const rows = async (t: TableSpec) => (await read(() => db.rows(`${t.source}_${t.stream}`, t.primaryKey))) ?? [];
    const view = async (t: TableSpec) => (await rows(t)).map((r) => [...r.keys, r.data]);

    let made = 0;
    /** A gzip JSON Lines batch file; `lines` are written as given, each followed by a newline. */
    function batch(t: TableSpec, lines: Array<string | Buffer>, o: { part?: string; hourMs?: number; version?: string } = {}): BatchToLoad {
      made++;
      const part = o.part ?? `p${made}`;
      const file = path.join(dir, `batch-${made}.jsonl.gz`);
      fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(lines.flatMap((l) => [Buffer.from(l), Buffer.from('\n')]))));
      const hourMs = o.hourMs ?? HOUR;
      const hour = new Date(hourMs).toISOString();
      return {
        key: `${t.source}/${t.stream}/dt=${hour.slice(0, 10)}/hr=${hour.slice(11, 13)}/${part}.jsonl.gz`,
        version: o.version ?? `v-${part}`,
        size: fs.statSync(file).size,
        checksum: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
        partitionMs: hourMs,
        file,
      };
    }
    /** Everything a load can change, to see that one changed nothing. */
    const everything = (t: TableSpec) =>
      read(async () => ({
        rows: await db.rows(`${t.source}_${t.stream}`, t.primaryKey),
        times: await db.loadTimes(`${t.source}_${t.stream}`),
        rejects: await db.rejects(),
        loads: await db.loads(),
      }));
    /** The counts of each batch (the schema's drift, also reported, has its own suite: schema-contract.ts). */
    const load = async (t: TableSpec, batches: BatchToLoad[], runId = 'run-1') =>
      (await wh!.load(t, batches, runId)).map(({ schemaChanges: _changes, untrackedPaths: _untracked, ...counts }) => counts);

    it('creates raw.<source>_<stream> with the key, data and _sluice_* columns on first load', async () => {
      const b = batch(events, [line({ id: '1', v: 'a' }), line({ id: '2', v: 'b' })]);
      expect(await load(events, [b])).toEqual([{ rows: 2, rejected: 0 }]);
      expect(await rows(events)).toEqual([
        { keys: ['1'], data: { id: '1', v: 'a' }, batch: b.key, partition: '2026-01-01 10:00:00' },
        { keys: ['2'], data: { id: '2', v: 'b' }, batch: b.key, partition: '2026-01-01 10:00:00' },
      ]);
    });

    it('merges on the key: a later batch updates a row instead of adding one', async () => {
      const b1 = batch(events, [line({ id: '1', v: 'old' }), line({ id: '2', v: 'b' })]);
      const b2 = batch(events, [line({ id: '1', v: 'new' }), line({ id: '3', v: 'c' })], { hourMs: HOUR + 3_600_000 });
      await load(events, [b1]);
      await load(events, [b2], 'run-2');
      expect((await rows(events)).map((r) => [r.keys[0], r.data, r.batch, r.partition])).toEqual([
        ['1', { id: '1', v: 'new' }, b2.key, '2026-01-01 11:00:00'],
        ['2', { id: '2', v: 'b' }, b1.key, '2026-01-01 10:00:00'],
        ['3', { id: '3', v: 'c' }, b2.key, '2026-01-01 11:00:00'],
      ]);
    });

    it('in one load, batches apply in the order given and a key twice in a batch keeps its last line', async () => {
      const b1 = batch(events, [line({ id: '1', v: 'a' }), line({ id: '2', v: 'x' }), line({ id: '1', v: 'b' })]);
      const b2 = batch(events, [line({ id: '2', v: 'y' }), line({ id: '2', v: 'z' })]);
      expect(await load(events, [b1, b2])).toEqual([
        { rows: 3, rejected: 0 },
        { rows: 2, rejected: 0 },
      ]);
      expect(await view(events)).toEqual([
        ['1', { id: '1', v: 'b' }],
        ['2', { id: '2', v: 'z' }],
      ]);
    });

    it('stores a numeric key as its text', async () => {
      await load(events, [batch(events, [line({ id: 28281984012, v: 1 })])]);
      expect((await rows(events)).map((r) => r.keys)).toEqual([['28281984012']]);
    });

    it('merges on a composite key, each part in its own column', async () => {
      await load(pairs, [batch(pairs, [line({ org: 'a', num: 1, v: 'x' }), line({ org: 'a', num: 2, v: 'y' }), line({ org: 'b', num: 1, v: 'z' })])]);
      const b2 = batch(pairs, [line({ org: 'a', num: 2, v: 'y2' }), line({ org: 'a', v: 'no num' })]);
      expect(await load(pairs, [b2], 'run-2')).toEqual([{ rows: 1, rejected: 1 }]);
      expect((await rows(pairs)).map((r) => [...r.keys, (r.data as { v: string }).v])).toEqual([
        ['a', '1', 'x'],
        ['a', '2', 'y2'],
        ['b', '1', 'z'],
      ]);
      expect((await read(() => db.rejects())).map((r) => [r.batch_key, r.line_number, r.reason])).toEqual([[b2.key, 2, 'missing primary key: num']]);
    });

    it('a full stream is replaced by its snapshot, which may span several batches', async () => {
      await load(agents, [batch(agents, [line({ id: '1' }), line({ id: '2' }), line({ id: '3' })], { part: 'run-a' })]);
      const s2 = [
        batch(agents, [line({ id: '3', v: 'old' }), line({ id: '4' })], { part: 'run-b' }),
        batch(agents, [line({ id: '3', v: 'new' })], { part: 'run-b', hourMs: HOUR + 3_600_000 }),
      ];
      expect(await load(agents, s2, 'run-2')).toEqual([
        { rows: 2, rejected: 0 },
        { rows: 1, rejected: 0 },
      ]);
      expect(await view(agents)).toEqual([
        ['3', { id: '3', v: 'new' }],
        ['4', { id: '4' }],
      ]);
    });

    it('an empty snapshot of a full stream empties its table', async () => {
      await load(agents, [batch(agents, [line({ id: '1' }), line({ id: '2' })], { part: 'run-a' })]);
      expect(await load(agents, [batch(agents, [], { part: 'run-b' })], 'run-2')).toEqual([{ rows: 0, rejected: 0 }]);
      expect(await view(agents)).toEqual([]);
    });

    it('sends bad lines to sluice._rejects with their batch, line number, reason and text; blank lines are counted, not rejected', async () => {
      const badUtf8 = Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]); // {"id":"\xff"}
      const lines: Array<string | Buffer> = [
        line({ id: '1' }), // 1
        '{"id": "2", broken', // 2
        '', // 3: blank
        '[1,2,3]', // 4
        '42', // 5
        line({ other: true }), // 6
        line({ id: null }), // 7
        ' \t ', // 8: blank
        badUtf8, // 9
        'null', // 10
        line({ id: '11' }), // 11
      ];
      const b = batch(events, lines);
      expect(await load(events, [b])).toEqual([{ rows: 2, rejected: 7 }]);
      expect((await rows(events)).map((r) => r.keys[0])).toEqual(['1', '11']);
      const rejects = await read(() => db.rejects());
      expect(rejects.map((r) => [r.line_number, r.reason, r.line])).toEqual([
        [2, 'not a JSON object', '{"id": "2", broken'],
        [4, 'not a JSON object', '[1,2,3]'],
        [5, 'not a JSON object', '42'],
        [6, 'missing primary key: id', line({ other: true })],
        [7, 'missing primary key: id', line({ id: null })],
        [9, 'not valid UTF-8', '{"id":"\uFFFD"}'],
        [10, 'not a JSON object', 'null'],
      ]);
      expect(rejects.every((r) => r.batch_key === b.key && r.run_id === 'run-1')).toBe(true);
      expect((await read(() => db.loads())).map((l) => [l.batch_key, l.rows, l.rejected])).toEqual([[b.key, 2, 7]]);
    });

    it('a line of valid JSON that is not an object, or lacks its key, is a reject even when every other line is good', async () => {
      for (const [bad, reason] of [
        ['[1,2,3]', 'not a JSON object'],
        [line({ other: true }), 'missing primary key: id'],
      ] as const) {
        const b = batch(events, [line({ id: `a-${reason}` }), bad, line({ id: `b-${reason}` })]);
        expect(await load(events, [b])).toEqual([{ rows: 2, rejected: 1 }]);
        const rejects = (await read(() => db.rejects())).filter((r) => r.batch_key === b.key);
        expect(rejects.map((r) => [r.line_number, r.reason, r.line])).toEqual([[2, reason, bad]]);
      }
    });

    it('keeps every record exactly: escapes, unicode, CR and tab whitespace, nesting', async () => {
      const records = [
        { id: 'esc', s: 'tab\there "quoted" back\\slash \u2028 nul-escape-free', n: [1, 2.5, -3e-7, null, true] },
        { id: 'uni', s: 'häagen-dazs 東京 🚀', deep: { a: { b: { c: [{}] } } } },
      ];
      const lines = [line(records[0]), line(records[1]), '{"id":"crlf","v":1}\r', '{"id":"tabs",\t"v":\t2}', '{"id":"cr-mid",\r"v":3}'];
      expect(await load(events, [batch(events, lines)])).toEqual([{ rows: 5, rejected: 0 }]);
      expect(Object.fromEntries((await rows(events)).map((r) => [r.keys[0], r.data]))).toEqual({
        esc: records[0],
        uni: records[1],
        crlf: { id: 'crlf', v: 1 },
        tabs: { id: 'tabs', v: 2 },
        'cr-mid': { id: 'cr-mid', v: 3 },
      });
    });

    it('streams large batches: lines longer than a read chunk and many lines keep their numbers', async () => {
      const big = 'x'.repeat(1_500_000);
      const lines = Array.from({ length: 20_000 }, (_, i) => line({ id: String(i + 1), pad: 'y'.repeat(i % 50) }));
      lines[9_999] = line({ id: '10000', big });
      lines[14_999] = 'broken';
      expect(await load(events, [batch(events, lines)])).toEqual([{ rows: 19_999, rejected: 1 }]);
      const stored = await rows(events);
      expect(stored).toHaveLength(19_999);
      expect((stored.find((r) => r.keys[0] === '10000')!.data as { big: string }).big).toHaveLength(big.length);
      expect((await read(() => db.rejects())).map((r) => r.line_number)).toEqual([15_000]);
    });

    it('an empty batch (an hour with no data) is ledgered with zero rows', async () => {
      const b = batch(events, []);
      expect(await load(events, [b])).toEqual([{ rows: 0, rejected: 0 }]);
      expect(await rows(events)).toEqual([]);
      expect((await read(() => db.loads())).map((l) => [l.batch_key, l.rows])).toEqual([[b.key, 0]]);
    });

    it('the ledger records every batch once: key, source, stream, version, size, rows, rejected, run id', async () => {
      const b1 = batch(events, [line({ id: '1' }), 'oops']);
      const b2 = batch(events, [line({ id: '2' })]);
      await load(events, [b1, b2]);
      await load({ ...events, stream: 'other' }, [batch({ ...events, stream: 'other' }, [line({ id: '9' })])]);
      const ledger = await wh!.ledger('src', 'events');
      expect([...ledger.keys()].sort()).toEqual([b1.key, b2.key].sort());
      expect(ledger.get(b1.key)).toEqual({ key: b1.key, version: b1.version, size: b1.size, checksum: b1.checksum });
      expect((await wh!.ledger('src', 'nothing')).size).toBe(0);
      const loads = (await read(() => db.loads())).filter((l) => l.stream === 'events').map(({ loaded_at, ...l }) => l);
      expect(loads.sort((a, b) => a.batch_key.localeCompare(b.batch_key))).toEqual(
        [
          {
            batch_key: b1.key,
            source: 'src',
            stream: 'events',
            version: b1.version,
            checksum: b1.checksum,
            size: b1.size,
            rows: 1,
            rejected: 1,
            run_id: 'run-1',
          },
          {
            batch_key: b2.key,
            source: 'src',
            stream: 'events',
            version: b2.version,
            checksum: b2.checksum,
            size: b2.size,
            rows: 1,
            rejected: 0,
            run_id: 'run-1',
          },
        ].sort((a, b) => a.batch_key.localeCompare(b.batch_key)),
      );
      expect(await wh!.stats(events)).toMatchObject({ rows: 2, batches: 2, rejected: 1, lastLoadedAt: expect.any(String) });
      expect(await wh!.stats({ ...events, stream: 'never' })).toMatchObject({ rows: 0, batches: 0, rejected: 0 });
    });

    it('a batch the ledger holds with the same checksum is skipped, reported as such, and changes nothing', async () => {
      const b = batch(events, [line({ id: '1', v: 1 }), 'oops'], { part: 'same' });
      const other = batch(events, [line({ id: '2', v: 1 })]);
      await load(events, [b]);
      const before = await everything(events);
      expect(before.loads).toHaveLength(1);
      expect(before.rejects).toHaveLength(1);

      expect(await load(events, [b], 'run-2')).toEqual([{ rows: 0, rejected: 0, skipped: true }]);
      // The content decides, not the version: a touched or copied file is the same batch.
      expect(await load(events, [{ ...b, version: 'v-touched' }], 'run-3')).toEqual([{ rows: 0, rejected: 0, skipped: true }]);
      expect(await everything(events)).toEqual(before);

      // In a group, only the batches the ledger lacks are loaded.
      expect(await load(events, [b, other], 'run-4')).toEqual([
        { rows: 0, rejected: 0, skipped: true },
        { rows: 1, rejected: 0 },
      ]);
      const after = await everything(events);
      expect(after.loads.find((l) => l.batch_key === b.key)).toEqual(before.loads[0]);
      expect(after.rejects).toEqual(before.rejects);
      expect(after.rows?.map((r) => r.keys[0])).toEqual(['1', '2']);
    });

    it('a batch with new content under its key is loaded again: its rows, rejects and ledger row are replaced', async () => {
      const b = batch(events, [line({ id: '1', v: 1 }), 'oops'], { part: 'same' });
      await load(events, [b]);
      const changed = batch(events, [line({ id: '1', v: 2 }), line({ id: '2', v: 2 })], { part: 'same', version: 'v-changed' });
      expect(changed.key).toBe(b.key);
      expect(await load(events, [changed], 'run-3')).toEqual([{ rows: 2, rejected: 0 }]);
      expect(await view(events)).toEqual([
        ['1', { id: '1', v: 2 }],
        ['2', { id: '2', v: 2 }],
      ]);
      expect(await read(() => db.rejects())).toEqual([]);
      expect((await read(() => db.loads())).map((l) => [l.version, l.checksum, l.rows, l.run_id])).toEqual([['v-changed', changed.checksum, 2, 'run-3']]);
    });

    it('a full snapshot the ledger holds whole is skipped; one with a changed batch is loaded whole', async () => {
      const s1 = [
        batch(agents, [line({ id: '1' }), line({ id: '2' })], { part: 'run-a' }),
        batch(agents, [line({ id: '3' })], { part: 'run-a', hourMs: HOUR + 3_600_000 }),
      ];
      await load(agents, s1);
      const before = await everything(agents);
      expect(await load(agents, s1, 'run-2')).toEqual(s1.map(() => ({ rows: 0, rejected: 0, skipped: true })));
      expect(await everything(agents)).toEqual(before);

      const rewritten = batch(agents, [line({ id: '3', v: 'new' })], { part: 'run-a', hourMs: HOUR + 3_600_000, version: 'v-new' });
      expect(rewritten.key).toBe(s1[1]!.key);
      expect(await load(agents, [s1[0]!, rewritten], 'run-3')).toEqual([
        { rows: 2, rejected: 0 },
        { rows: 1, rejected: 0 },
      ]);
      expect(await view(agents)).toEqual([
        ['1', { id: '1' }],
        ['2', { id: '2' }],
        ['3', { id: '3', v: 'new' }],
      ]);
    });

    it('recordVersions gives a ledger row the version its content now has, and touches nothing else', async () => {
      const b1 = batch(events, [line({ id: '1' }), 'oops']);
      const b2 = batch(events, [line({ id: '2' })]);
      await load(events, [b1, b2]);
      const before = await everything(events);
      await wh!.recordVersions('src', 'events', [
        { key: b1.key, version: 'v-copied', checksum: b1.checksum },
        { key: b2.key, version: 'v-other-bytes', checksum: 'f'.repeat(64) }, // not its content: left alone
        { key: 'src/events/dt=2026-01-01/hr=10/never.jsonl.gz', version: 'v', checksum: b1.checksum },
      ]);
      await wh!.recordVersions('src', 'events', []);
      const ledger = await wh!.ledger('src', 'events');
      expect([...ledger.values()].map((e) => [e.key, e.version, e.checksum]).sort()).toEqual(
        [
          [b1.key, 'v-copied', b1.checksum],
          [b2.key, b2.version, b2.checksum],
        ].sort(),
      );
      const after = await everything(events);
      expect(after.rows).toEqual(before.rows);
      expect(after.times).toEqual(before.times);
      expect(after.rejects).toEqual(before.rejects);
      expect(after.loads.map(({ version, ...l }) => l)).toEqual(before.loads.map(({ version, ...l }) => l));
      // The next load of the copy is the fast path's business; given to load, it is still the same batch.
      expect(await load(events, [{ ...b1, version: 'v-copied' }], 'run-2')).toEqual([{ rows: 0, rejected: 0, skipped: true }]);
    });

    it('in a group mixing clean batches and batches with bad bytes, each reject keeps its own batch and line number', async () => {
      const bad = Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xfe, 0x22, 0x7d]); // {"id":"\xfe"}
      const b1 = batch(events, [line({ id: '1' }), 'nope', line({ id: '2' })]);
      const b2 = batch(events, [line({ id: '3' }), bad, '{"id":"4",\r"v":1}', 'broken'], { hourMs: HOUR + 3_600_000 });
      const b3 = batch(events, ['', line({ id: '1', v: 'later' }), line({ nokey: 1 })], { hourMs: HOUR + 7_200_000 });
      expect(await load(events, [b1, b2, b3])).toEqual([
        { rows: 2, rejected: 1 },
        { rows: 2, rejected: 2 },
        { rows: 1, rejected: 1 },
      ]);
      expect(await view(events)).toEqual([
        ['1', { id: '1', v: 'later' }],
        ['2', { id: '2' }],
        ['3', { id: '3' }],
        ['4', { id: '4', v: 1 }],
      ]);
      const rejects = await read(() => db.rejects());
      expect(rejects.map((r) => [r.batch_key, r.line_number, r.reason])).toEqual([
        [b1.key, 2, 'not a JSON object'],
        [b2.key, 2, 'not valid UTF-8'],
        [b2.key, 4, 'not a JSON object'],
        [b3.key, 3, 'missing primary key: id'],
      ]);
    });

    it('a batch that cannot be read fails its whole group: no rows, rejects or ledger rows of any of its batches', async () => {
      const good = batch(events, [line({ id: '1' }), 'oops']);
      const corrupt = batch(events, [line({ id: '2' })]);
      fs.writeFileSync(corrupt.file!, Buffer.concat([zlib.gzipSync(line({ id: '2' })).subarray(0, 12), Buffer.from('not gzip at all')]));
      const missing = { ...batch(events, [line({ id: '3' })]), file: path.join(dir, 'does-not-exist.jsonl.gz') };
      for (const bad of [corrupt, missing]) {
        await expect(load(events, [good, bad])).rejects.toMatchObject({ name: 'SluiceError' });
        expect((await wh!.ledger('src', 'events')).size).toBe(0);
        expect(await rows(events)).toEqual([]);
        expect(await read(() => db.rejects())).toEqual([]);
      }
      expect(await load(events, [good], 'run-2')).toEqual([{ rows: 1, rejected: 1 }]);
      expect([...(await wh!.ledger('src', 'events')).keys()]).toEqual([good.key]);
    });
  });
}
