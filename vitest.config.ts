import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One test file per core: the suites wait on processes and servers as much as they compute
    // (vitest's default leaves a core idle).
    maxWorkers: os.availableParallelism(),
    // Prints which suites are skipped for want of a system program (PostgreSQL, Chromium).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
