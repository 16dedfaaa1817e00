import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end suites spawn the CLI and run Argon2id at 64 MiB; two cores cannot take more in parallel.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
