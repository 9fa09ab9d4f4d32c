import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS, DEFAULTS } from './config-docs.ts';
import { loadConfig } from './load-config.ts';

const deps = { readFile: () => undefined, hostname: () => 'dev-box' };

describe('CONFIG_DOCS', () => {
  it('documents exactly the variables loadConfig reads', () => {
    const read = new Set<string>();
    const env = new Proxy<Record<string, string | undefined>>(
      {},
      {
        get(_target, key) {
          if (typeof key === 'string') read.add(key);
          return undefined;
        },
      },
    );
    loadConfig(env, deps);
    expect([...read].sort()).toEqual(CONFIG_DOCS.map((d) => d.name).sort());
  });

  it('lists each variable once, with a description', () => {
    const names = CONFIG_DOCS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const doc of CONFIG_DOCS) expect(doc.description.length).toBeGreaterThan(10);
  });

  it('shows the literal defaults the loader uses', () => {
    for (const [name, value] of Object.entries(DEFAULTS)) {
      expect(CONFIG_DOCS.find((d) => d.name === name)?.default).toBe(value);
    }
  });

  it.each(Object.entries(DEFAULTS))('setting %s to its documented default changes nothing', (name, value) => {
    expect(loadConfig({ [name]: value }, deps)).toEqual(loadConfig({}, deps));
  });

  it('marks every derived or optional default in parentheses', () => {
    for (const doc of CONFIG_DOCS) {
      if (!(doc.name in DEFAULTS)) expect(doc.default).toMatch(/^\(.+\)$/);
    }
  });
});
