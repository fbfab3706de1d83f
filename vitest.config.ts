import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each file gets its own process: tfjs and DuckDB keep process-wide state.
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
