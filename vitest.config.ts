import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Integration tests that pin a clock and write through the store. They run twice: in `int`, and
 * in `int-future` against a database whose clock is a year ahead (test/global-setup.ts), so
 * a fixed date that a TTL index would expire fails today, not on the day it expires.
 * test/unit/date-check.test.ts makes every int test with a date literal either belong here or
 * say why it cannot rot. docs/conventions.md, "Tests that cannot rot".
 */
export const DATE_PINNED = ['test/api/**/*.int.test.ts', 'test/store/**/*.int.test.ts'];

/**
 * Tests that load the machine on purpose (2,000 occurrences due at once on three replicas): they
 * run alone, after every other project, on a stack of their own. Run beside the rest they starved
 * the shared database server, and other files' leaders missed their fitness pings (a CI run:
 * drain.int.test.ts lost a release while the burst ran).
 */
export const ALONE = ['test/engine/burst-failover.int.test.ts'];

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
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.test.ts'],
          exclude: [...configDefaults.exclude, ...ALONE],
          ...integration,
        },
      },
      { test: { name: 'int-future', include: DATE_PINNED, ...integration } },
      {
        test: {
          name: 'int-alone',
          include: ALONE,
          ...integration,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
