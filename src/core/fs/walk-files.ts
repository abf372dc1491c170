import fs from 'node:fs';
import path from 'node:path';
import { mapPool } from '../pool.js';
import { isTempName } from './temp-files.js';

/** Folders read at once: a lake is one folder per hour, so one at a time is a round trip per file. */
const FOLDERS_AT_ONCE = 16;

/**
 * Every file under root (relative, `/`-separated), skipping temp files, in no particular order:
 * the folders of each level are read concurrently.
 */
export async function* walkFiles(root: string, sub = ''): AsyncGenerator<string> {
  let level = [sub];
  while (level.length > 0) {
    const next: string[] = [];
    for await (const entries of mapPool(level, FOLDERS_AT_ONCE, (dir) => readFolder(root, dir))) {
      for (const { rel, folder } of entries) {
        if (folder) next.push(rel);
        else yield rel;
      }
    }
    level = next;
  }
}

async function readFolder(root: string, sub: string): Promise<{ rel: string; folder: boolean }[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(path.join(root, sub), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: { rel: string; folder: boolean }[] = [];
  for (const e of entries) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) out.push({ rel, folder: true });
    else if (e.isFile() && !isTempName(e.name)) out.push({ rel, folder: false });
  }
  return out;
}
