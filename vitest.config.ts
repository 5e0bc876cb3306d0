import { defineConfig } from 'vitest/config';
import LongestFirst from './testing/test-order';

// Tests talk to real servers (Aedes, DuckDB, influxd, Chromium) on loopback.
// Two cores: keep a modest number of test files in flight.
export default defineConfig({
  test: {
    include: ['**/*.test.ts', '**/*.test.tsx'],
    exclude: ['node_modules/**', 'dist/**', 'ops-console/web/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    // the longest files first, so a clean clone (no cached durations) ends with both workers busy
    sequence: { sequencer: LongestFirst },
  },
});
