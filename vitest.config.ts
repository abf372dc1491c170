import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Prints which suites are skipped for want of a system program (PostgreSQL, Chromium).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
