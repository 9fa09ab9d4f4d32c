import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { NamespaceSchema } from '../schedule/schema.ts';
import { renderDocsPage } from './docs-page.ts';
import { parseIfMatch } from './if-match.ts';
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

  // Contract mismatches schemathesis found (issue 15): what the server refuses, the document must too.
  type Op = { operationId: string; parameters?: { name: string; schema: Record<string, unknown> }[] } & {
    responses: Record<string, unknown>;
  };
  const ops = Object.values(doc.paths).flatMap((o) => Object.values(o) as unknown as Op[]);
  const param = (op: Op, name: string) => op.parameters?.find((p) => p.name === name);

  it('documents If-Match, with its 412, on every operation that honours it, DELETE included', () => {
    for (const id of [
      'replaceSchedule',
      'patchSchedule',
      'deleteSchedule',
      'pauseSchedule',
      'resumeSchedule',
    ]) {
      const op = ops.find((o) => o.operationId === id);
      expect(op, id).toBeDefined();
      expect(param(op!, 'If-Match'), id).toBeDefined();
      expect(op!.responses[412], id).toBeDefined();
    }
  });

  it("gives If-Match's format as a pattern that accepts exactly what the server accepts", () => {
    const op = ops.find((o) => o.operationId === 'replaceSchedule')!;
    const pattern = new RegExp(String(param(op, 'If-Match')?.schema.pattern));
    const accepts = (v: string) => {
      try {
        parseIfMatch(v);
        return true;
      } catch {
        return false;
      }
    };
    for (const v of [
      '"3"',
      '3',
      'W/"3"',
      '*',
      '"12"',
      '',
      '"0"',
      '0',
      'soon',
      '"3", "4"',
      'W/3',
      '"-1"',
      '"03"',
    ])
      expect(pattern.test(v), v).toBe(accepts(v));
  });

  it('refuses an empty cursor in the document as the server does', () => {
    for (const op of ops) {
      const cursor = param(op, 'cursor');
      if (cursor) expect(cursor.schema.minLength, op.operationId).toBe(1);
    }
    expect(ops.filter((o) => param(o, 'cursor')).length).toBeGreaterThanOrEqual(2);
  });

  it('states the endAt > startAt rule on ScheduleInput', () => {
    const input = doc.components.schemas.ScheduleInput as {
      properties: Record<string, { description?: string }>;
    };
    expect(input.properties.endAt?.description).toMatch(/after startAt/);
  });

  it("gives the namespace path parameter the server's rule (a DNS label), not any string", () => {
    const op = ops.find((o) => o.operationId === 'getScheduleInNamespace')!;
    const schema = param(op, 'namespace')!.schema as { pattern: string; maxLength: number };
    const allowed = (v: string) => new RegExp(schema.pattern).test(v) && v.length <= schema.maxLength;
    for (const v of ['team-a', 'a', 'a'.repeat(63), 'a'.repeat(64), 'Team', '-a', 'a-', '', 'a.b', '\u0082x'])
      expect(allowed(v), v).toBe(NamespaceSchema.safeParse(v).success);
  });

  it('links a created schedule to the operations on it, by its id', () => {
    const created = ops.find((o) => o.operationId === 'createSchedule')!.responses[201] as {
      links: Record<string, { operationId: string; parameters: Record<string, string> }>;
    };
    const ids = new Set(ops.map((o) => o.operationId));
    expect(Object.keys(created.links).length).toBeGreaterThanOrEqual(8);
    for (const link of Object.values(created.links)) {
      expect(ids.has(link.operationId), link.operationId).toBe(true);
      expect(link.parameters).toEqual({ id: '$response.body#/id' });
    }
  });
});
