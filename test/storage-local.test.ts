import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempFiles, tempOwner, tempPathFor } from '../src/core/fs/temp-files.js';
import { ownerTag, selfIdentity } from '../src/core/process-identity.js';
import { LocalStore } from '../src/storage/local/index.js';
import { storageContract } from './storage-contract.js';
import { tempDir } from './support/workspace.js';

storageContract('local', async () => {
  const dir = tempDir('local-store');
  const store = new LocalStore(path.join(dir, 'lake'));
  return {
    store,
    close: async () => fs.rmSync(dir, { recursive: true, force: true }),
    tempPathOf: (key, owner) => path.join(store.root, path.dirname(key), `.${path.basename(key)}.tmp-${ownerTag(owner)}-0badf00d`),
  };
});

describe('listing a large lake', () => {
  const dir = tempDir('local-list');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('yields every batch once, with its size, across hour folders read at once and more files than one round of stats', async () => {
    const store = new LocalStore(path.join(dir, 'lake'));
    const expected = new Map<string, number>();
    for (let h = 0; h < 1_200; h++) {
      const at = new Date(Date.UTC(2026, 0, 1) + h * 3_600_000).toISOString();
      const hour = `gh/events/dt=${at.slice(0, 10)}/hr=${at.slice(11, 13)}`;
      const folder = path.join(store.root, hour);
      fs.mkdirSync(folder, { recursive: true });
      const body = 'x'.repeat(h % 7);
      fs.writeFileSync(path.join(folder, 'part-a.jsonl.gz'), body);
      expected.set(`${hour}/part-a.jsonl.gz`, body.length);
      if (h % 100 === 0) fs.writeFileSync(path.join(folder, '.part-b.jsonl.gz.tmp-1.x-0badf00d'), 'half written');
    }
    fs.mkdirSync(path.join(store.root, 'gh', 'eventsx'), { recursive: true });
    fs.writeFileSync(path.join(store.root, 'gh', 'eventsx', 'other.jsonl.gz'), 'not under the prefix');

    const listed = new Map<string, number>();
    for await (const o of store.list('gh/events/')) {
      expect(listed.has(o.key), o.key).toBe(false);
      listed.set(o.key, o.size);
    }
    expect(listed).toEqual(expected);
  });
});

/** Above Linux's largest possible pid (2^22): no process ever has it. */
const DEAD_PID = 4_194_305;

describe('temp files left by killed runs', () => {
  const dir = tempDir('temp-sweep');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const plant = (name: string) => {
    const file = path.join(dir, 'a', 'b', name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'half written');
    return file;
  };
  const me = selfIdentity();

  it('are named after their owner: pid and start time', () => {
    const name = path.basename(tempPathFor(path.join(dir, 'data.jsonl.gz')));
    expect(name).toMatch(new RegExp(`^\\.data\\.jsonl\\.gz\\.tmp-${ownerTag().replace('.', '\\.')}-[0-9a-f]{8}$`));
    expect(tempOwner(name)).toEqual({ pid: me.pid, start: me.start });
  });

  it('one named with this pid but another start time is swept (a run that was PID 1 before this one)', async () => {
    const predecessor = plant(`.data.jsonl.gz.tmp-${ownerTag({ pid: me.pid, start: (me.start ?? 0) + 1 })}-0badf00d`);
    const mine = plant(path.basename(tempPathFor('data.jsonl.gz')));
    expect(await removeTempFiles(dir)).toBe(1);
    expect(fs.existsSync(predecessor)).toBe(false);
    expect(fs.existsSync(mine)).toBe(true);
    fs.rmSync(mine);
  });

  it('names of older versions (pid only) are swept when their pid is this one or gone, kept while another process has it', async () => {
    const ownPid = plant(`.data.jsonl.gz.tmp-${me.pid}-0badf00d`);
    const gone = plant(`.data.jsonl.gz.tmp-${DEAD_PID}-0badf00d`);
    const parent = plant(`.data.jsonl.gz.tmp-${process.ppid}-0badf00d`);
    expect(await removeTempFiles(dir)).toBe(2);
    expect([ownPid, gone, parent].map((f) => fs.existsSync(f))).toEqual([false, false, true]);
    fs.rmSync(parent);
  });

  it('a temp folder of a gone owner is removed with what it holds; a live one is kept', async () => {
    const live = await makeTempDir(path.join(dir, 'tmp'), 'duckdb');
    fs.writeFileSync(path.join(live, '0.jsonl'), 'x');
    const dead = path.join(dir, 'tmp', `.duckdb.tmp-${ownerTag({ pid: DEAD_PID, start: 7 })}-0badf00d`);
    fs.mkdirSync(path.join(dead, 'deeper'), { recursive: true });
    fs.writeFileSync(path.join(dead, 'deeper', '0.jsonl'), 'x');
    expect(await removeTempFiles(dir)).toBe(1);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.readdirSync(live)).toEqual(['0.jsonl']);
    fs.rmSync(live, { recursive: true });
  });

  it('one whose owner is a zombie (exited, not yet reaped) is swept', async () => {
    // sh starts a short child and execs into sleep, which never reaps it: a zombie.
    const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number((await once(sh.stdout, 'data')).toString());
      while (!/\) Z /.test(fs.readFileSync(`/proc/${zombie}/stat`, 'utf8'))) await new Promise((r) => setTimeout(r, 10));
      const stat = fs.readFileSync(`/proc/${zombie}/stat`, 'utf8');
      const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      const file = plant(`.data.jsonl.gz.tmp-${ownerTag({ pid: zombie, start })}-0badf00d`);
      expect(await removeTempFiles(dir)).toBe(1);
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      sh.kill('SIGKILL');
    }
  });
});
