import fs from 'node:fs';
import path from 'node:path';
import { isTempName, tempPathFor } from '../../core/temp-files.js';

export { isTempName, removeTempFiles, tempPathFor } from '../../core/temp-files.js';

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
