// Keeps the suite's date check honest: an integration test with a fixed date either runs in the
// `int-future` project (against a database a year ahead, where a TTL would expire a date in the
// past) or is listed here with the reason its dates cannot rot. A new test file that pins a
// clock therefore cannot slip past the check unnoticed.
import { globSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../stack/stack.ts';
import { DATE_PINNED } from '../../vitest.config.ts';

/** Files with fixed dates that never reach a TTL index, and why. */
const CANNOT_ROT: Record<string, string> = {
  'test/deploy/build-artifacts.int.test.ts':
    "compares the demo payload's one-shot time with a fixed date; nothing is written anywhere",
  'test/deploy/schedule-crd.int.test.ts':
    "Schedule objects' instants are judged only by the CRD's schema and CEL rules (format, order), mostly in dry runs; no controller runs there and nothing expires them",
  'test/election/k8s-lease-client.int.test.ts':
    'Lease timestamps are written to Kubernetes, where nothing expires them',
  'test/engine/kubernetes-job.int.test.ts':
    'the date names and annotates a Job object; no controller runs in the test API server',
  'test/proofs/mongo-change-stream.int.test.ts':
    'proves the unique index with run documents that have no createdAt, so no TTL covers them',
};

const ABSOLUTE_DATE = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const files = (patterns: string[]) => new Set(globSync(patterns, { cwd: REPO_ROOT }));

describe('the date check covers every integration test with a fixed date', () => {
  const pinned = files(DATE_PINNED);
  const dated = [...files(['test/**/*.int.test.ts'])].filter((f) =>
    ABSOLUTE_DATE.test(readFileSync(`${REPO_ROOT}/${f}`, 'utf8')),
  );

  it('finds the files it is meant to judge', () => {
    expect(dated).toContain('test/api/schedules.int.test.ts');
    expect(pinned.has('test/store/store.int.test.ts')).toBe(true);
  });

  it.each(dated)('%s runs in int-future or says why its dates cannot rot', (file) => {
    expect(
      pinned.has(file) || file in CANNOT_ROT,
      `${file} has a fixed date: add it to DATE_PINNED in vitest.config.ts, or to CANNOT_ROT here with the reason`,
    ).toBe(true);
  });

  it('lists no file that is gone or already checked', () => {
    for (const file of Object.keys(CANNOT_ROT)) {
      expect(dated, `${file} is listed in CANNOT_ROT`).toContain(file);
      expect(pinned.has(file), `${file} is in DATE_PINNED too`).toBe(false);
    }
  });
});
