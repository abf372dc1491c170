import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Temporary files sit beside their target as `.{name}.tmp-{random}`: a dot name is never listed
 * as a batch, and `removeTempFiles` finds what a killed run left behind.
 */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export const isTempName = (name: string): boolean => name.startsWith('.') && name.includes('.tmp-');

/** Writes bytes to a temp file, flushes it and renames it over the target. */
export async function writeFileAtomic(target: string, bytes: Buffer): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, target);
}

/** Every file under root (relative, `/`-separated), skipping temp files. */
export async function* walkFiles(root: string, sub = ''): AsyncGenerator<string> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(path.join(root, sub), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const e of entries) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) yield* walkFiles(root, rel);
    else if (e.isFile() && !isTempName(e.name)) yield rel;
  }
}

/** True when the process that named a temp file is gone, so the file is litter of a killed run. */
function ownerIsGone(name: string): boolean {
  const pid = Number(/\.tmp-(\d+)-/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Deletes temp files under root whose writing process is gone (left by killed runs). */
export async function removeTempFiles(root: string): Promise<number> {
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
      if (e.isDirectory()) await walk(p);
      else if (isTempName(e.name) && ownerIsGone(e.name)) {
        try {
          await fs.promises.rm(p, { force: true });
          removed++;
        } catch {
          /* raced with another cleaner */
        }
      }
    }
  };
  await walk(root);
  return removed;
}

export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
