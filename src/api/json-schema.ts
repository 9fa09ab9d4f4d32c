// Zod's JSON Schemas are standalone documents (`$schema`, local `$defs`); inside an
// OpenAPI document their `#/$defs/x` refs would point at the document's root. This
// moves each schema's $defs into components and rewrites the refs to match.
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/** `schemas` keyed by component name → component schemas with every $defs entry hoisted. */
export function toComponents(schemas: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const { $schema: _s, $defs, ...rest } = schema as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const rename = (def: string) => `${name}_${def.replace(/[^A-Za-z0-9._-]/g, '').replace(/^_+/, '')}`;
    out[name] = rewriteRefs(rest, rename) as JsonSchema;
    for (const [def, defSchema] of Object.entries($defs ?? {}))
      out[rename(def)] = rewriteRefs(defSchema, rename) as JsonSchema;
  }
  return out;
}

function rewriteRefs(value: unknown, rename: (def: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, rename));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
        ? `#/components/schemas/${rename(v.slice('#/$defs/'.length))}`
        : rewriteRefs(v, rename);
  }
  return out;
}

export const jsonSchemaOf = (schema: z.ZodType): JsonSchema =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' }) as JsonSchema;
