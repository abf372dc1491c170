import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchWriter } from '../src/pipeline/batch-writer.js';
import { tempDir } from './support/workspace.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);

describe('BatchWriter', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lands text and byte lines exactly, one per line, across chunk boundaries and in their hours', async () => {
    dir = tempDir('batch-writer');
    const writer = new BatchWriter({ landingRoot: dir, source: 'api', stream: 'items', part: 'run1', nowMs: T0 });
    const expected: string[] = [];
    const records = Array.from({ length: 5_000 }, (_, i) => {
      // Multi-byte text, a line longer than a chunk, and lines given as bytes.
      const text = JSON.stringify({ id: i, s: i === 2_500 ? 'z'.repeat(200_000) : `東京 🚀 ${'y'.repeat(i % 97)}` });
      expected.push(text);
      return { line: i % 2 === 0 ? text : Buffer.from(text), timeMs: T0 + (i % 2) * HOUR };
    });
    await writer.write(records.slice(0, 1_000));
    await writer.write(records.slice(1_000));
    const landed = await writer.commit();
    expect(landed.map((b) => [b.key, b.rows])).toEqual([
      ['api/items/dt=2025-01-01/hr=00/run1.jsonl.gz', 2_500],
      ['api/items/dt=2025-01-01/hr=01/run1.jsonl.gz', 2_500],
    ]);
    const read = (key: string) => zlib.gunzipSync(fs.readFileSync(path.join(dir as string, key))).toString('utf8');
    expect(read(landed[0]!.key)).toBe(`${expected.filter((_, i) => i % 2 === 0).join('\n')}\n`);
    expect(read(landed[1]!.key)).toBe(`${expected.filter((_, i) => i % 2 === 1).join('\n')}\n`);
  });

  it('a record without a time lands in the hour of the run', async () => {
    dir = tempDir('batch-writer');
    const writer = new BatchWriter({ landingRoot: dir, source: 'api', stream: 'items', part: 'run1', nowMs: T0 + 5 * HOUR + 123 });
    await writer.write([{ line: Buffer.from('{"id":1}'), timeMs: undefined }]);
    expect((await writer.commit()).map((b) => b.key)).toEqual(['api/items/dt=2025-01-01/hr=05/run1.jsonl.gz']);
  });
});
