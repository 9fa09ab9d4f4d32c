import { describe, expect, it } from 'vitest';
import { toComponents } from './json-schema.ts';

describe('toComponents', () => {
  it('hoists $defs into components and rewrites refs, dropping $schema', () => {
    const out = toComponents({
      A: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { j: { $ref: '#/$defs/__schema0' }, k: { $ref: '#/components/schemas/B' } },
        $defs: {
          __schema0: { anyOf: [{ type: 'string' }, { type: 'array', items: { $ref: '#/$defs/__schema0' } }] },
        },
      },
    });
    expect(out).toEqual({
      A: {
        type: 'object',
        properties: { j: { $ref: '#/components/schemas/A_schema0' }, k: { $ref: '#/components/schemas/B' } },
      },
      A_schema0: {
        anyOf: [{ type: 'string' }, { type: 'array', items: { $ref: '#/components/schemas/A_schema0' } }],
      },
    });
  });
});
