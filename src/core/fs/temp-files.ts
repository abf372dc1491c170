import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isOwnerAlive, ownerTag, parseOwnerTag, type RecordedOwner } from '../process-identity.js';

/**
 * Temp files and folders are named `.{name}.tmp-{owner}-{random}`: a dot name is never listed as a
 * batch, and `{owner}` (pid and start time, see `ownerTag`) lets a later run tell what a killed run
 * left behind from what a live one is writing, even when both have the same pid (PID 1 in a
 * container). Names of older versions, `.{name}.tmp-{pid}-{random}`, are still recognised.
 */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${ownerTag()}-${randomBytes(4).toString('hex')}`);
}

export const isTempName = (name: string): boolean => name.startsWith('.') && name.includes('.tmp-');

/** Who wrote a temp name, or undefined when the name says nothing we can check. */
export function tempOwner(name: string): RecordedOwner | undefined {
  const tagged = /\.tmp-([0-9a-z]+\.(?:[0-9a-z]+|_))-[0-9a-f]+$/.exec(name);
  if (tagged) return parseOwnerTag(tagged[1] as string);
  const legacy = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
  if (legacy) return { pid: Number(legacy[1]), legacy: true };
  return undefined;
}

/**
 * A new, empty temp folder under `parent` (created if needed), for scratch files that must not
 * outlive the run. The caller removes it when done; if the run is killed first, `removeTempFiles`
 * on `parent` (or any folder above it) removes it once its owner is gone.
 */
export async function makeTempDir(parent: string, label: string): Promise<string> {
  await fs.promises.mkdir(parent, { recursive: true });
  const dir = tempPathFor(path.join(parent, label));
  await fs.promises.mkdir(dir);
  return dir;
}

/**
 * Deletes the temp files and folders under root whose owner is no longer running (left by killed
 * runs); those of live processes, this one included, stay. Returns how many it removed.
 */
export async function removeTempFiles(root: string): Promise<number> {
  const alive = new Map<string, boolean>(); // one /proc look-up per owner, however many files it left
  const ownerGone = (name: string): boolean => {
    const owner = tempOwner(name);
    if (!owner) return true; // a temp name without an owner: nobody will finish it
    const key = `${owner.pid}.${owner.start ?? ''}.${owner.legacy ? 'l' : ''}`;
    let live = alive.get(key);
    if (live === undefined) {
      live = isOwnerAlive(owner);
      alive.set(key, live);
    }
    return !live;
  };
  let removed = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (isTempName(e.name) && (e.isFile() || e.isDirectory())) {
        if (!ownerGone(e.name)) continue;
        try {
          await fs.promises.rm(p, { recursive: true, force: true });
          removed++;
        } catch {
          /* raced with another cleaner */
        }
      } else if (e.isDirectory()) {
        await walk(p);
      }
    }
  };
  await walk(root);
  return removed;
}
