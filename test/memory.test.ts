import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../src/core/memory.js';

/** Allocates 32 MiB of buffers and drops them; returns the buffer bytes held just before. */
function leaveGarbage(): number {
  const buffers = Array.from({ length: 512 }, () => Buffer.alloc(64 * 1024, 1));
  const held = process.memoryUsage().arrayBuffers;
  expect(buffers).toHaveLength(512); // alive until measured
  return held;
}

describe('collectGarbage', () => {
  it('frees dead buffers now, without a start-up flag, and can run again', () => {
    const held = leaveGarbage();
    collectGarbage();
    expect(held - process.memoryUsage().arrayBuffers).toBeGreaterThan(24 * 1024 * 1024);
    leaveGarbage();
    collectGarbage();
  });
});
