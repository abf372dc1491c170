import fs from 'node:fs';
import path from 'node:path';
import { tempPathFor } from './temp-files.js';

/** Writes bytes to a temp file, flushes it and renames it over the target: readers see the old file or the new one. */
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
