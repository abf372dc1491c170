import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { tempPathFor } from '../core/fs/temp-files.js';
import { isOwnerAlive, ownerTag, parseOwnerTag, type RecordedOwner, selfIdentity } from '../core/process-identity.js';

/** The record a lock holds about the run that took it. */
export interface LockHolder {
  pid: number;
  /** Process start time, clock ticks since boot (absent without /proc). */
  start?: number;
  boot?: string;
  host: string;
  run_id: string;
  started_at: string;
}

/** One owner record found in a lock, and whether its process still runs. */
interface Found {
  file: string;
  owner: RecordedOwner;
  holder: Partial<LockHolder>;
  alive: boolean;
}

const RECORD = /^([0-9a-z]+\.(?:[0-9a-z]+|_))-[0-9a-f]+\.json$/;
const ATTEMPTS = 10;
const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;
const ignoring =
  (...codes: string[]) =>
  (error: unknown) => {
    if (!codes.includes(errno(error) ?? '')) throw error;
  };

/**
 * One run of a source at a time per state dir: `locks/<source>.lock/`, a folder holding one file,
 * its owner's record, named after the owner (`<owner tag>-<random>.json`, see `ownerTag`).
 *
 * Taking it: the record is written and flushed in a fresh temp folder, which is then renamed to the
 * lock's name. rename() moves a folder into place only where there is none or an empty one, and does
 * so atomically: a lock is never seen without its owner, and of many takers exactly one succeeds
 * (the others get ENOTEMPTY).
 *
 * Taking over from a dead owner (killed, or its pid now someone else's): its record is unlinked by
 * its own name, then the folder is rmdir'ed. Both steps are conditional by nature: unlinking the dead
 * owner's record can never remove a new owner's (another name), and rmdir fails on a folder that is
 * not empty (a new owner got in between). So two runs that both judge the same owner dead cannot
 * both end up holding the lock, however their steps interleave: no window is left. A run killed
 * between the two steps, or while releasing, leaves an empty folder, which the next rename replaces.
 *
 * Returns the release function: it removes our record and then the folder if it is empty, so a lock
 * that is not ours (any more) is left as it is.
 */
export async function acquireLock(stateDir: string, name: string, runId: string): Promise<() => Promise<void>> {
  const dir = path.join(stateDir, 'locks');
  await fs.promises.mkdir(dir, { recursive: true });
  const lock = path.join(dir, `${name}.lock`);
  const me = selfIdentity();
  const holder: LockHolder = { ...me, host: os.hostname(), run_id: runId, started_at: new Date().toISOString() };
  const record = `${ownerTag(me)}-${randomBytes(4).toString('hex')}.json`;
  const staged = tempPathFor(lock);
  await fs.promises.mkdir(staged);
  try {
    const fh = await fs.promises.open(path.join(staged, record), 'wx');
    try {
      await fh.writeFile(`${JSON.stringify(holder)}\n`);
      await fh.sync(); // after a power cut the lock is whole or absent, never an empty file
    } finally {
      await fh.close();
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await fs.promises.rename(staged, lock);
        return async () => {
          await fs.promises.rm(path.join(lock, record), { force: true });
          await fs.promises.rmdir(lock).catch(ignoring('ENOENT', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'));
        };
      } catch (error) {
        // ENOTDIR: a lock file of an older sluice (its pid as text) is in the way.
        ignoring('ENOTEMPTY', 'EEXIST', 'ENOTDIR')(error);
      }
      const found = await readLock(lock);
      const live = found.find((f) => f.alive);
      if (live) throw refused(name, lock, live);
      await breakLock(lock, found);
    }
    throw new SluiceError('locked', `could not take the lock of source ${name}: other runs kept taking it`, {
      hint: `run again; if it persists, look at ${lock}: it should hold one owner record and nothing else`,
      retryable: true,
      context: { source: name },
    });
  } finally {
    await fs.promises.rm(staged, { recursive: true, force: true });
  }
}

/** The owners a lock names now (none when it is free). */
async function readLock(lock: string): Promise<Found[]> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(lock);
  } catch (error) {
    ignoring('ENOENT')(error);
    return [];
  }
  if (!st.isDirectory()) {
    const text = await fs.promises.readFile(lock, 'utf8').catch(() => '');
    const owner = { pid: Number(text.trim()), legacy: true };
    return [{ file: lock, owner, holder: { pid: owner.pid }, alive: isOwnerAlive(owner) }];
  }
  const names = await fs.promises.readdir(lock).catch((error: unknown) => {
    ignoring('ENOENT', 'ENOTDIR')(error);
    return [] as string[];
  });
  const found: Found[] = [];
  for (const entry of names) {
    const file = path.join(lock, entry);
    const tag = RECORD.exec(entry)?.[1];
    const named = tag === undefined ? undefined : parseOwnerTag(tag);
    if (!named) {
      // Not ours to judge or delete: the lock stays held until someone looks at it.
      found.push({ file, owner: { pid: 0 }, holder: {}, alive: true });
      continue;
    }
    // The name says who; the content adds the boot id, and what a refusal message shows.
    let holder: Partial<LockHolder> = { pid: named.pid };
    try {
      holder = { ...holder, ...(JSON.parse(await fs.promises.readFile(file, 'utf8')) as Partial<LockHolder>) };
    } catch (error) {
      if (errno(error) === 'ENOENT') continue; // released or taken over meanwhile
    }
    const owner: RecordedOwner = { ...named, ...(typeof holder.boot === 'string' ? { boot: holder.boot } : {}) };
    found.push({ file, owner, holder, alive: isOwnerAlive(owner) });
  }
  return found;
}

/** Removes the records of dead owners, then the lock folder if nothing else is in it. */
async function breakLock(lock: string, found: Found[]): Promise<void> {
  for (const f of found) {
    // EISDIR/EPERM: an old-style lock file was replaced by a new lock meanwhile; it is not ours to touch.
    await fs.promises.unlink(f.file).catch(ignoring('ENOENT', 'EISDIR', 'EPERM'));
  }
  await fs.promises.rmdir(lock).catch(ignoring('ENOENT', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'));
}

function refused(name: string, lock: string, live: Found): SluiceError {
  const h = live.holder;
  if (h.pid === undefined) {
    return new SluiceError('locked', `source ${name} is locked by ${live.file}, which sluice does not recognise`, {
      hint: `if no sluice run of ${name} is going, remove ${lock}`,
      context: { source: name },
    });
  }
  const about = [h.run_id ? `run ${h.run_id}` : undefined, h.started_at ? `since ${h.started_at}` : undefined, h.host ? `on ${h.host}` : undefined].filter(
    Boolean,
  );
  return new SluiceError('locked', `source ${name} is already being run by process ${h.pid}${about.length ? ` (${about.join(', ')})` : ''}: not run again`, {
    hint: `wait for that run to finish; sluice never runs one source twice at once (the lock is ${lock})`,
    context: { source: name, holder: h },
  });
}
