import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemConfigDeps } from './system-deps.ts';

describe('systemConfigDeps.readFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leasecron-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the content of an existing file', () => {
    writeFileSync(join(dir, 'namespace'), 'team-a');
    expect(systemConfigDeps.readFile(join(dir, 'namespace'))).toBe('team-a');
  });

  it('returns undefined for a missing file or directory', () => {
    expect(systemConfigDeps.readFile(join(dir, 'absent'))).toBeUndefined();
    expect(systemConfigDeps.readFile(join(dir, 'namespace', 'below-a-file'))).toBeUndefined();
  });

  it('throws on other errors, such as reading a directory', () => {
    expect(() => systemConfigDeps.readFile(dir)).toThrow(/EISDIR/);
  });
});
