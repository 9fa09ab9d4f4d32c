import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { renderDocsPage } from './docs-page.ts';
import { buildOpenApiDocument } from './openapi.ts';

const doc = buildOpenApiDocument();

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  return out;
}

describe('OpenAPI document', () => {
  it('validates as OpenAPI 3.1', async () => {
    const result = await new Validator().validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('has every $ref resolving inside the document', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(10);
    for (const ref of all) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.split('/').at(-1)!], ref).toBeDefined();
    }
  });

  it('gives every operation a unique operationId and, under /api/, the 401 problem', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, o]) =>
      Object.values(o).map((op) => ({ path, op })),
    );
    expect(new Set(ops.map(({ op }) => op.operationId)).size).toBe(ops.length);
    for (const { path, op } of ops) {
      if (path.startsWith('/api/')) expect(op.responses[401], op.operationId).toBeDefined();
      else expect(op.security).toEqual([]);
    }
  });

  it('renders /docs without scripts or external resources, escaping text', () => {
    const html = renderDocsPage(doc);
    expect(html).toContain('/openapi.json');
    expect(html).toContain('createSchedule');
    // example URLs appear as text; nothing is loaded from them
    expect(html).not.toMatch(/<script|(src|href)="?https?:\/\//i);
  });
});
