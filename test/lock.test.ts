import { type ChildProcessByStdio, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError, type SluiceError } from '../src/core/errors.js';
import { ownerTag, type ProcessIdentity, selfIdentity } from '../src/core/process-identity.js';
import { startGithubSim } from '../src/demo/github-sim.js';
import { acquireLock } from '../src/pipeline/lock.js';
import { githubWorkspace, output, removeDir, sluice } from './support/github.js';
import { assertBuilt, listFiles, ROOT, tempDir } from './support/workspace.js';

const LOCK_MODULE = path.join(ROOT, 'dist', 'pipeline', 'lock.js');
const CONTENDER = path.join(ROOT, 'test', 'support', 'lock-contender.mjs');
/** Above Linux's largest possible pid (2^22): no process ever has it. */
const DEAD_PID = 4_194_305;

/** A separate node process that takes the lock of `source` when told (test/support/lock-contender.mjs). */
class Contender {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #lines: string[] = [];
  readonly #waiting: Array<(line: string) => void> = [];

  constructor(stateDir: string, source: string) {
    assertBuilt();
    this.child = spawn(process.execPath, [CONTENDER, LOCK_MODULE, stateDir, source], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buffered = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        const waiter = this.#waiting.shift();
        if (waiter) waiter(line);
        else this.#lines.push(line);
      }
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  next(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  send(command: string): void {
    this.child.stdin.write(`${command}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

async function contenders(stateDir: string, source: string, n: number): Promise<Contender[]> {
  const all = Array.from({ length: n }, () => new Contender(stateDir, source));
  for (const c of all) expect(await c.next()).toBe('ready');
  return all;
}

const lockDir = (stateDir: string, source: string) => path.join(stateDir, 'locks', `${source}.lock`);

/** A lock as a run of `owner` would have left it (killed, so never released). */
function plantLock(stateDir: string, source: string, owner: ProcessIdentity, runId = 'planted-run'): void {
  const dir = lockDir(stateDir, source);
  fs.mkdirSync(dir, { recursive: true });
  const record = { ...owner, host: 'somewhere', run_id: runId, started_at: '2026-01-01T00:00:00.000Z' };
  fs.writeFileSync(path.join(dir, `${ownerTag(owner)}-0badf00d.json`), JSON.stringify(record));
}

/** Records in the lock, as `<owner tag>` strings. */
const lockOwners = (stateDir: string, source: string): string[] =>
  fs.existsSync(lockDir(stateDir, source)) ? fs.readdirSync(lockDir(stateDir, source)).map((f) => f.replace(/-[0-9a-f]+\.json$/, '')) : [];

const failure = async (p: Promise<unknown>): Promise<SluiceError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSluiceError(error)) throw new Error(`expected a SluiceError, got ${String(error)}`);
  return error;
};

/** The start time of a live process, from /proc. */
function startOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

describe('the source lock, between processes', () => {
  let dir: string;
  let stateDir: string;
  beforeAll(() => {
    dir = tempDir('lock');
    stateDir = path.join(dir, 'state');
  });
  afterAll(() => removeDir(dir));

  it('lets exactly one of many simultaneous takers win, on a free lock and on every kind of stale one, round after round', async () => {
    const me = selfIdentity();
    // What a killed run can leave: a record of a gone pid, of a pid now used by another process (this
    // one: same pid, another start time, as PID 1 in a new container), of another boot, an old-style
    // pid file, an empty folder (killed while releasing). And no lock at all.
    const stale: Array<[string, () => void]> = [
      ['free', () => {}],
      ['gone pid', () => plantLock(stateDir, 'src', { pid: DEAD_PID, start: 1 })],
      ['pid reused', () => plantLock(stateDir, 'src', { ...me, start: (me.start ?? 0) + 1 })],
      ['other boot', () => plantLock(stateDir, 'src', { ...me, boot: 'another-boot' })],
      [
        'old pid file',
        () => {
          fs.mkdirSync(path.join(stateDir, 'locks'), { recursive: true });
          fs.writeFileSync(lockDir(stateDir, 'src'), String(DEAD_PID));
        },
      ],
      ['empty folder', () => fs.mkdirSync(lockDir(stateDir, 'src'), { recursive: true })],
    ];
    const all = await contenders(stateDir, 'src', 6);
    try {
      for (let round = 0; round < 30; round++) {
        const [kind, plant] = stale[round % stale.length] as [string, () => void];
        plant();
        for (const c of all) c.send(`go run-${round}`);
        const answers = await Promise.all(all.map((c) => c.next()));
        const winners = all.filter((_, i) => answers[i] === 'won');
        expect(winners.length, `round ${round} (${kind}): ${answers.join(' | ')}`).toBe(1);
        const winner = winners[0] as Contender;
        for (const a of answers.filter((x) => x !== 'won')) {
          expect(a).toMatch(/^refused locked source src is already being run by process \d+ \(run run-\d+, since /);
          expect(a).toContain(`process ${winner.pid} (run run-${round},`);
        }
        expect(lockOwners(stateDir, 'src')).toEqual([ownerTag({ pid: winner.pid, start: startOf(winner.pid) })]);
        winner.send('release');
        expect(await winner.next()).toBe('released');
        // Released, and no taker left its staged record behind.
        expect(fs.readdirSync(path.join(stateDir, 'locks'))).toEqual([]);
      }
    } finally {
      await Promise.all(all.map((c) => c.close()));
    }
  });

  it('refuses a lock held by a live process, naming it, and leaves that lock as it was', async () => {
    const [holder] = (await contenders(stateDir, 'held', 1)) as [Contender];
    try {
      holder.send('go holder-run');
      expect(await holder.next()).toBe('won');
      const before = fs.readdirSync(lockDir(stateDir, 'held'));
      const e = await failure(acquireLock(stateDir, 'held', 'second-run'));
      expect(e.code).toBe('locked');
      expect(e.message).toMatch(new RegExp(`^source held is already being run by process ${holder.pid} \\(run holder-run, since \\d{4}-\\d\\d-\\d\\dT`));
      expect(e.hint).toContain('wait for that run to finish');
      expect(fs.readdirSync(lockDir(stateDir, 'held'))).toEqual(before);
      expect(fs.readdirSync(path.join(stateDir, 'locks'))).toEqual(['held.lock']);
    } finally {
      await holder.close();
    }
    // A holder that exits releases its lock.
    expect(fs.existsSync(lockDir(stateDir, 'held'))).toBe(false);
  });

  it('release leaves a lock that is no longer ours', async () => {
    const release = await acquireLock(stateDir, 'taken', 'first-run');
    // Someone judged us gone and took the lock over: our record removed, theirs in place.
    fs.rmSync(lockDir(stateDir, 'taken'), { recursive: true });
    const [other] = (await contenders(stateDir, 'taken', 1)) as [Contender];
    try {
      other.send('go other-run');
      expect(await other.next()).toBe('won');
      await release();
      expect(lockOwners(stateDir, 'taken')).toEqual([ownerTag({ pid: other.pid, start: startOf(other.pid) })]);
    } finally {
      await other.close();
    }
  });
});

describe('the source lock, its owner beyond the pid', () => {
  let dir: string;
  let stateDir: string;
  beforeAll(() => {
    dir = tempDir('lock-owner');
    stateDir = path.join(dir, 'state');
  });
  afterAll(() => removeDir(dir));

  it('takes over a lock whose pid is alive but started at another time (a reused pid)', async () => {
    const parent = { pid: process.ppid, start: startOf(process.ppid) };
    plantLock(stateDir, 'reused', { ...parent, start: parent.start + 1 });
    const release = await acquireLock(stateDir, 'reused', 'mine');
    expect(lockOwners(stateDir, 'reused')).toEqual([ownerTag()]);
    await release();
    expect(fs.existsSync(lockDir(stateDir, 'reused'))).toBe(false);
  });

  it('takes over a lock with this very pid but another start time (PID 1 after a container restart)', async () => {
    const me = selfIdentity();
    plantLock(stateDir, 'pid1', { ...me, start: (me.start ?? 0) + 1 });
    const release = await acquireLock(stateDir, 'pid1', 'mine');
    expect(lockOwners(stateDir, 'pid1')).toEqual([ownerTag()]);
    await release();
  });

  it('refuses a lock whose pid is alive with the same start time, and a second take in the same process', async () => {
    plantLock(stateDir, 'alive', { pid: process.ppid, start: startOf(process.ppid) }, 'parent-run');
    const e = await failure(acquireLock(stateDir, 'alive', 'mine'));
    expect(e.message).toContain(`already being run by process ${process.ppid} (run parent-run,`);

    const release = await acquireLock(stateDir, 'twice', 'first');
    const again = await failure(acquireLock(stateDir, 'twice', 'second'));
    expect(again.message).toContain(`already being run by process ${process.pid} (run first,`);
    await release();
  });
});

describe('sluice run while another run holds the source', () => {
  it('exits 1 naming the source and its holder, and changes nothing', async () => {
    const sim = await startGithubSim({ seed: 5, repos: ['duckdb/duckdb'], events: 40 });
    const ws = githubWorkspace('lock-cli', sim, ['duckdb/duckdb']);
    // A killed run's leftover: a refused run must not even sweep it.
    const leftover = path.join(
      ws.stateDir,
      'landing',
      'github',
      'events',
      'dt=2026-01-01',
      'hr=00',
      `.x.jsonl.gz.tmp-${ownerTag({ pid: DEAD_PID, start: 1 })}-0badf00d`,
    );
    fs.mkdirSync(path.dirname(leftover), { recursive: true });
    fs.writeFileSync(leftover, 'half a batch');
    const [holder] = (await contenders(ws.stateDir, 'github', 1)) as [Contender];
    try {
      holder.send('go holder-run');
      expect(await holder.next()).toBe('won');
      const r = await sluice(ws, ['run', 'github']);
      expect(r.code, output(r)).toBe(1);
      expect(r.stdout + r.stderr).toMatch(new RegExp(`source github is already being run by process ${holder.pid} \\(run holder-run, since `));
      expect(sim.stats.requests).toBe(0);
      expect(fs.existsSync(leftover)).toBe(true);
      expect(fs.existsSync(ws.lake)).toBe(false);
      expect(fs.existsSync(ws.warehouse)).toBe(false);
      expect(fs.existsSync(path.join(ws.stateDir, 'runs.jsonl')), 'a run refused for every source keeps no record').toBe(false);
      expect(listFiles(ws.stateDir).filter((f) => !f.startsWith('landing/'))).toEqual(listFiles(path.join(ws.stateDir, 'locks')).map((f) => `locks/${f}`));
    } finally {
      await holder.close();
    }
    const after = await sluice(ws, ['run', 'github']);
    expect(after.code, output(after)).toBe(0);
    expect(sim.stats.requests).toBeGreaterThan(0);
    expect(fs.existsSync(leftover), 'the next run that works sweeps what the killed one left').toBe(false);
    await sim.close();
    removeDir(ws.dir);
  });
});
