import { describe, expect, it } from 'vitest';
import { jobName } from './job-name.ts';

const at = new Date('2026-11-23T10:00:00.123Z');
const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('jobName', () => {
  it('is <schedule>-<occurrence ms>', () => {
    expect(jobName('nightly-report', at)).toBe(`nightly-report-${at.getTime()}`);
  });

  it('is the same for the same occurrence and differs between occurrences', () => {
    expect(jobName('a', at)).toBe(jobName('a', new Date(at.getTime())));
    expect(jobName('a', at)).not.toBe(jobName('a', new Date(at.getTime() + 1000)));
  });

  it('stays a DNS-1123 label of at most 63 characters for the longest names', () => {
    const long1 = `${'x'.repeat(50)}-first-variant`;
    const long2 = `${'x'.repeat(50)}-second-variant`;
    for (const n of [long1, long2, 'a'.repeat(63)]) {
      const j = jobName(n, at);
      expect(j.length).toBeLessThanOrEqual(63);
      expect(j).toMatch(label);
    }
    expect(jobName(long1, at)).not.toBe(jobName(long2, at));
  });
});
