import { createHash } from 'node:crypto';
import fs from 'node:fs';

const BUFFER_BYTES = 1 << 20;

/**
 * A file's SHA-256 (hex) and size, read through one reused buffer: a read stream allocates a
 * fresh chunk per read, and hashing a big batch left tens of MB of dead buffers resident until V8
 * collected them.
 */
export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const fh = await fs.promises.open(file);
  try {
    // No larger than the file: a load hashes hundreds of small batches, and a fresh 1 MiB for each
    // was hundreds of MB of short-lived buffers for V8 to collect.
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(BUFFER_BYTES, (await fh.stat()).size)));
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), size };
}
