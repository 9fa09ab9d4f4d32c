// The README's configuration table and set-up commands are part of the product:
// keep them in step with the loader and with what CI runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS } from '../../src/config/config-docs.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each(CONFIG_DOCS.map((d) => [d.name]))('documents %s', (name) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'));
  });

  it('gives the two set-up commands, and .ci/run calls the same test command', () => {
    const block = readme.split('## Set-up: the two commands')[1]?.split('```')[1] ?? '';
    expect(block).toMatch(/^make local-up\b/m);
    expect(block).toMatch(/^make test\b/m);
    expect(readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8')).toMatch(/^make test\b/m);
  });
});
