import { defineConfig } from 'vitest/config';

/**
 * Integration tests that pin a clock and write through the store. They run twice: in `int`, and
 * in `int-future` against a database whose clock is a year ahead (test/global-setup.ts), so
 * a fixed date that a TTL index would expire fails today, not on the day it expires.
 * test/unit/date-check.test.ts makes every int test with a date literal either belong here or
 * say why it cannot rot. docs/conventions.md, "Tests that cannot rot".
 */
export const DATE_PINNED = ['test/api/**/*.int.test.ts', 'test/store/**/*.int.test.ts'];

const integration = {
  environment: 'node' as const,
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  fileParallelism: true,
  maxWorkers: 2,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      { test: { name: 'int', include: ['test/**/*.int.test.ts'], ...integration } },
      { test: { name: 'int-future', include: DATE_PINNED, ...integration } },
    ],
  },
});
