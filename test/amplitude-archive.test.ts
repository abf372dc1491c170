import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipItem, zipParts } from '../src/demo/amplitude-sim-zip.js';
import { checkArchive, type OpenArchive, openArchive } from '../src/sources/amplitude/archive.js';
import { tempDir } from './support/workspace.js';

const DAY = Date.UTC(2025, 1, 1);
const HOUR = 3_600_000;
const RANGE = { startMs: DAY, endMs: DAY + 23 * HOUR };
const LIMITS = { maxBytes: 1 << 30, maxRatio: 1000 };

/** Hour `h`'s gzip JSON Lines: `lines` events with random payloads, so the gzip stays large. */
function hourGzip(h: number, lines: number): Buffer {
  const rows = Array.from({ length: lines }, (_, i) => JSON.stringify({ uuid: `${h}-${i}`, noise: crypto.randomBytes(48).toString('base64') }));
  return zlib.gzipSync(`${rows.join('\n')}\n`);
}

const entryName = (h: number, part = 0) => `187520/187520_2025-02-01_${h}#${part}.json.gz`;

async function readAll(archive: OpenArchive, hourMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (const part of archive.hours.get(hourMs) ?? []) for await (const c of await archive.open(part)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** The file closes once the last entry's stream has ended: a moment after the read resolves. */
async function fdsSettleAt(count: number): Promise<number> {
  for (const deadline = Date.now() + 5000; openFds() !== count && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
  return openFds();
}

describe('amplitude: reading a downloaded export archive', () => {
  let dir: string;
  let file: string;
  const gz = new Map<number, Buffer>();
  beforeAll(() => {
    dir = tempDir('amp-archive');
    file = path.join(dir, 'export.zip');
    // Entries of several large reads each (the reader takes 256 KiB at a time), one stored and one
    // deflated inside the zip, and a small one.
    gz.set(DAY, hourGzip(0, 16_000));
    gz.set(DAY + HOUR, hourGzip(1, 9_000));
    gz.set(DAY + 2 * HOUR, hourGzip(2, 3));
    expect((gz.get(DAY) as Buffer).length).toBeGreaterThan(3 * 256 * 1024);
    fs.writeFileSync(
      file,
      Buffer.concat(
        zipParts([
          zipItem(entryName(0), gz.get(DAY) as Buffer),
          zipItem(entryName(1), gz.get(DAY + HOUR) as Buffer, true),
          zipItem(entryName(2), gz.get(DAY + 2 * HOUR) as Buffer),
        ]),
      ),
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives every entry back byte for byte, read whole, in turn or at once', async () => {
    const archive = await openArchive(file, RANGE, LIMITS.maxBytes);
    try {
      expect([...archive.hours.keys()]).toEqual([DAY, DAY + HOUR, DAY + 2 * HOUR]);
      for (const [hourMs, bytes] of gz) expect((await readAll(archive, hourMs)).equals(bytes)).toBe(true);
      const together = await Promise.all([...gz.keys()].map((hourMs) => readAll(archive, hourMs)));
      expect(together.map((b, i) => b.equals([...gz.values()][i] as Buffer))).toEqual([true, true, true]);
    } finally {
      archive.close();
    }
  });

  it('counts the lines the check inflates, as the landing then yields them', async () => {
    const archive = await openArchive(file, RANGE, LIMITS.maxBytes);
    try {
      const checks = await checkArchive(archive, LIMITS);
      expect([...checks.values()].map((c) => c.lines)).toEqual([16_000, 9_000, 3]);
    } finally {
      archive.close();
    }
  });

  it('an entry left half read does not close the file under the others', async () => {
    const archive = await openArchive(file, RANGE, LIMITS.maxBytes);
    try {
      const [first] = archive.hours.get(DAY) ?? [];
      const stream = await archive.open(first as NonNullable<typeof first>);
      for await (const _ of stream) break; // destroys the entry's stream after one chunk
      expect((await readAll(archive, DAY + HOUR)).equals(gz.get(DAY + HOUR) as Buffer)).toBe(true);
      expect((await readAll(archive, DAY)).equals(gz.get(DAY) as Buffer)).toBe(true);
    } finally {
      archive.close();
    }
  });

  it('closes its file once closed and its last entry is read, and at once when it cannot be opened', async () => {
    const before = openFds();
    const archive = await openArchive(file, RANGE, LIMITS.maxBytes);
    expect(openFds()).toBe(before + 1);
    const reading = readAll(archive, DAY);
    archive.close();
    expect((await reading).equals(gz.get(DAY) as Buffer)).toBe(true);
    expect(await fdsSettleAt(before)).toBe(before);

    const cut = path.join(dir, 'cut.zip');
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 300_000));
    await expect(openArchive(cut, RANGE, LIMITS.maxBytes)).rejects.toThrow(/refused the export archive: not a readable zip/);
    expect(openFds()).toBe(before);
  });
});
