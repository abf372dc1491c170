import fs from 'node:fs';
import path from 'node:path';
import { isTempName } from './temp-files.js';

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
