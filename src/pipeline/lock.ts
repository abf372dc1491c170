import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One run of a source at a time on this machine: a lock file holding the owner's pid. A lock
 * whose process is gone (killed) is taken over.
 */
export async function acquireLock(stateDir: string, name: string): Promise<() => Promise<void>> {
  const dir = path.join(stateDir, 'locks');
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.lock`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.promises.open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await fs.promises.rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await fs.promises.readFile(file, 'utf8').catch(() => ''));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new SluiceError('internal', `source ${name} is already being run by process ${owner}`, {
          hint: 'wait for that run to finish; sluice never runs one source twice at once',
          retryable: true,
        });
      }
      await fs.promises.rm(file, { force: true }); // stale: its process was killed
    }
  }
  throw new SluiceError('internal', `could not take the lock for source ${name}`, { retryable: true });
}
