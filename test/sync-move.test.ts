import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGithubSim } from '../src/demo/github-sim.js';
import { LocalStore } from '../src/storage/local/local-store.js';
import { githubWorkspace, landingLeftovers, output, removeDir, sluice, sorted, storedBatches, storedIds, warehouseState } from './support/github.js';
import { tempDir } from './support/workspace.js';

const REPOS = ['duckdb/duckdb', 'apache/arrow'];
const SIM = { seed: 5, repos: REPOS, events: 120 };

const landed = (stateDir: string) => landingLeftovers(stateDir).map((rel) => path.join(stateDir, 'landing', rel));
const cleanup: string[] = [];
afterEach(() => {
  for (const dir of cleanup.splice(0)) removeDir(dir);
});

describe('sync into local storage on the landing folder’s filesystem', () => {
  it('renames each landed batch into storage: the stored file is the landed one, byte for byte', async () => {
    const sim = await startGithubSim(SIM);
    const ws = githubWorkspace('sync-move', sim, REPOS);
    cleanup.push(ws.dir);
    try {
      const f = await sluice(ws, ['fetch', 'github']);
      expect(f.code, output(f)).toBe(0);
      const before = new Map(landed(ws.stateDir).map((file) => [path.relative(path.join(ws.stateDir, 'landing'), file), fs.statSync(file).ino]));
      expect(before.size).toBeGreaterThan(0);
      const s = await sluice(ws, ['sync', 'github']);
      expect(s.code, output(s)).toBe(0);
      expect(landingLeftovers(ws.stateDir)).toEqual([]);
      for (const [rel, ino] of before) expect(fs.statSync(path.join(ws.lake, rel)).ino, rel).toBe(ino);
      const l = await sluice(ws, ['load', 'github']);
      expect(l.code, output(l)).toBe(0);
      expect((await warehouseState(ws.warehouse)).ids).toEqual(sorted(sim.expectedIds()));
    } finally {
      await sim.close();
    }
  });

  it('a sync killed just after a rename loses nothing: the next one moves the rest and promotes the checkpoint', async () => {
    const sim = await startGithubSim(SIM);
    const ws = githubWorkspace('sync-move-killed', sim, REPOS);
    cleanup.push(ws.dir);
    try {
      const f = await sluice(ws, ['fetch', 'github']);
      expect(f.code, output(f)).toBe(0);
      // What a sync killed right after its first rename leaves: that batch in storage only, the
      // others and the pending checkpoint in landing.
      const [first] = landed(ws.stateDir);
      const key = path
        .relative(path.join(ws.stateDir, 'landing'), first as string)
        .split(path.sep)
        .join('/');
      expect(await new LocalStore(ws.lake).moveFile(key, first as string)).toBe(true);
      expect(fs.existsSync(first as string)).toBe(false);

      const r = await sluice(ws, ['run', 'github']);
      expect(r.code, output(r)).toBe(0);
      expect(landingLeftovers(ws.stateDir)).toEqual([]);
      expect(fs.existsSync(path.join(ws.lake, '_state', 'github', 'events.json'))).toBe(true);
      const expected = sorted(sim.expectedIds());
      expect(sorted(new Set(storedIds(storedBatches(ws.lake))))).toEqual(expected);
      const wh = await warehouseState(ws.warehouse);
      expect(wh.ids).toEqual(expected);
      expect(wh.rows).toBe(wh.distinct);
    } finally {
      await sim.close();
    }
  });
});

describe('LocalStore.moveFile', () => {
  it('leaves a file on another filesystem where it is and says so, for sync to copy it instead', async () => {
    if (!fs.existsSync('/dev/shm') || fs.statSync('/dev/shm').dev === fs.statSync(tempDir('probe')).dev) return;
    const store = tempDir('move-store');
    const other = fs.mkdtempSync('/dev/shm/sluice-move-');
    cleanup.push(store, other);
    const file = path.join(other, 'b.jsonl.gz');
    fs.writeFileSync(file, 'bytes');
    expect(await new LocalStore(store).moveFile('s/e/dt=2025-01-01/hr=00/data.jsonl.gz', file)).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe('bytes');
    expect(fs.existsSync(path.join(store, 's/e/dt=2025-01-01/hr=00/data.jsonl.gz'))).toBe(false);
  });
});
