import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError } from '../src/core/errors.js';
import { sha256File } from '../src/core/fs/sha256-file.js';
import type { ObjectStore } from '../src/core/object-store.js';
import { type ProcessIdentity, selfIdentity } from '../src/core/process-identity.js';
import { tempDir } from './support/workspace.js';

/** A store for one suite, and how to dispose of it. */
export interface StoreUnderTest {
  store: ObjectStore;
  close(): Promise<void>;
  /**
   * Stores that write temp files beside their objects: where a temp file written by `owner` for
   * `key` would sit, so the suite can plant what a killed writer leaves behind.
   */
  tempPathOf?(key: string, owner: ProcessIdentity): string;
}

/** Above Linux's largest possible pid (2^22): no process ever has it. */
const DEAD_PID = 4_194_305;

/** A live process's identity as /proc tells it; undefined without /proc. */
function ownerOf(pid: number): ProcessIdentity | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { pid, start: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) };
  } catch {
    return undefined;
  }
}

/** Writes a half-written temp file at `file`, as a writer killed mid-way leaves it. */
function plant(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'half written');
  return file;
}

async function collect(store: ObjectStore, prefix: string) {
  const out = [];
  for await (const o of store.list(prefix)) out.push(o);
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

async function readAll(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of store.openRead(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The behaviour every ObjectStore promises the pipeline (DESIGN §2–§3): one suite, run by each
 * storage plug-in's own test file with a factory for a fresh, empty store.
 */
export function storageContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name} store contract`, () => {
    let sut: StoreUnderTest;
    let store: ObjectStore;
    let dir: string;
    const file = (fileName: string, bytes: Buffer) => {
      const p = path.join(dir, fileName);
      fs.writeFileSync(p, bytes);
      return p;
    };
    const put = async (key: string, bytes: Buffer) => {
      const f = file(`f-${randomBytes(4).toString('hex')}`, bytes);
      return store.putFile(key, f, await sha256File(f));
    };

    beforeAll(async () => {
      dir = tempDir(`contract-${name}`);
      sut = await open();
      store = sut.store;
    });
    afterAll(async () => {
      await sut.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('passes its own check', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });

    it('stores a file and gives back the same bytes, size and checksum', async () => {
      const bytes = randomBytes(50_000);
      const key = 'src/events/dt=2026-01-01/hr=00/data.jsonl.gz';
      const f = file('a.bin', bytes);
      const expected = await sha256File(f);
      const put = await store.putFile(key, f, expected);
      expect(put).toMatchObject({ key, size: bytes.length, sha256: expected.sha256 });
      expect(put.version).not.toBe('');
      expect(await store.head(key)).toMatchObject({ key, size: bytes.length });
      expect(await store.sha256(key)).toBe(expected.sha256);
      expect((await readAll(store, key)).equals(bytes)).toBe(true);
      expect((await store.getBytes(key))?.equals(bytes)).toBe(true);
    });

    it('lists exactly the objects under a prefix, with their sizes', async () => {
      await put('list/a/dt=2026-01-01/hr=00/x.jsonl.gz', Buffer.from('one'));
      await put('list/a/dt=2026-01-01/hr=01/x.jsonl.gz', Buffer.from('three'));
      await put('list/b/dt=2026-01-01/hr=00/x.jsonl.gz', Buffer.from('other'));
      const listed = await collect(store, 'list/a/');
      expect(listed.map((o) => [o.key, o.size])).toEqual([
        ['list/a/dt=2026-01-01/hr=00/x.jsonl.gz', 3],
        ['list/a/dt=2026-01-01/hr=01/x.jsonl.gz', 5],
      ]);
      expect(await collect(store, 'list/none/')).toEqual([]);
    });

    it('replaces an object and changes its version', async () => {
      const key = 'replace/dt=2026-01-01/hr=00/data.jsonl.gz';
      const first = await put(key, Buffer.from('first version'));
      const second = await put(key, Buffer.from('second, longer version'));
      expect(second.version).not.toBe(first.version);
      expect((await store.getBytes(key))?.toString()).toBe('second, longer version');
      const [listed] = await collect(store, 'replace/');
      expect(listed?.version).toBe(second.version);
    });

    it('refuses a file that does not match its expected checksum, leaving nothing behind', async () => {
      const key = 'bad/dt=2026-01-01/hr=00/data.jsonl.gz';
      const f = file('bad.bin', Buffer.from('the real bytes'));
      const real = await sha256File(f);
      const error = await store.putFile(key, f, { size: real.size, sha256: 'f'.repeat(64) }).catch((e: unknown) => e);
      expect(isSluiceError(error) && error.code).toBe('integrity');
      expect(await store.head(key)).toBeUndefined();
      expect(await collect(store, 'bad/')).toEqual([]);
    });

    it('refuses a file whose size is not the expected one', async () => {
      const key = 'bad-size/dt=2026-01-01/hr=00/data.jsonl.gz';
      const f = file('bad-size.bin', Buffer.from('twelve bytes'));
      const real = await sha256File(f);
      const error = await store.putFile(key, f, { size: real.size + 1, sha256: real.sha256 }).catch((e: unknown) => e);
      expect(isSluiceError(error) && error.code).toBe('integrity');
      expect(await store.head(key)).toBeUndefined();
    });

    it('writes and reads small objects (checkpoints); missing ones are undefined', async () => {
      const key = '_state/src/events.json';
      await store.putBytes(key, Buffer.from('{"cursor":1}'));
      await store.putBytes(key, Buffer.from('{"cursor":2}'));
      expect((await store.getBytes(key))?.toString()).toBe('{"cursor":2}');
      expect(await store.getBytes('_state/src/none.json')).toBeUndefined();
      expect(await store.head('_state/src/none.json')).toBeUndefined();
    });

    it('stores a large file intact', async () => {
      const bytes = randomBytes(11 * 1024 * 1024 + 123);
      const key = 'large/dt=2026-01-01/hr=00/data.jsonl.gz';
      const put = await store.putFile(key, file('large.bin', bytes), await sha256File(path.join(dir, 'large.bin')));
      expect(put.size).toBe(bytes.length);
      expect((await store.head(key))?.size).toBe(bytes.length);
      expect((await readAll(store, key)).equals(bytes)).toBe(true);
      expect(await store.sha256(key)).toBe(put.sha256);
    });

    it('deletes objects; deleting a missing one is not an error', async () => {
      const key = 'del/dt=2026-01-01/hr=00/data.jsonl.gz';
      await put(key, Buffer.from('x'));
      await store.delete(key);
      expect(await store.head(key)).toBeUndefined();
      await expect(store.delete(key)).resolves.toBeUndefined();
    });

    it('reading a missing object fails on the stream', async () => {
      await expect(readAll(store, 'missing/dt=2026-01-01/hr=00/data.jsonl.gz')).rejects.toBeTruthy();
    });

    it('cleanup removes the temp files of writers that are gone, and nothing else', async () => {
      const key = 'cleanup/dt=2026-01-01/hr=00/data.jsonl.gz';
      await put(key, Buffer.from('a finished batch'));
      const me = selfIdentity();
      const parent = ownerOf(process.ppid);
      const planted = sut.tempPathOf
        ? {
            // Killed writers: a gone pid; this very pid started at another time (PID 1 in a container).
            gone: [plant(sut.tempPathOf(key, { pid: DEAD_PID, start: 1 })), plant(sut.tempPathOf(key, { ...me, start: (me.start ?? 0) + 1 }))],
            // Live writers: this process, another live one.
            live: [plant(sut.tempPathOf(key, me)), ...(parent ? [plant(sut.tempPathOf(key, parent))] : [])],
          }
        : { gone: [], live: [] };
      const removed = await store.cleanup();
      expect(removed).toBe(planted.gone.length);
      for (const f of planted.gone) expect(fs.existsSync(f), f).toBe(false);
      for (const f of planted.live) expect(fs.existsSync(f), f).toBe(true);
      expect((await collect(store, 'cleanup/')).map((o) => o.key)).toEqual([key]);
      expect((await store.getBytes(key))?.toString()).toBe('a finished batch');
      for (const f of planted.live) fs.rmSync(f);
    });
  });
}
