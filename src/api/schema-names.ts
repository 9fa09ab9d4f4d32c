// Stable component names for /openapi.json. Zod hoists what it cannot inline into `$defs`
// named `__schema0`, … (toComponents turned those into `ScheduleInput_schema0`): internal,
// unstable names that generated clients would bake in. Here they get the names a reader
// expects, and the variants of `schedule` and `action` (and the small objects inside them)
// become components of their own, so the document and /docs show each with its fields.
import type { JsonSchema } from './json-schema.ts';

/** Zod's recursive JSON value (the http action's `body`): string, number, boolean, null, array, object. */
function isJsonValue(schema: JsonSchema): boolean {
  const any = schema.anyOf as JsonSchema[] | undefined;
  return (
    Array.isArray(any) &&
    ['string', 'number', 'boolean', 'null', 'array', 'object'].every((t) => any.some((s) => s.type === t))
  );
}

function mapRefs(value: unknown, rename: (name: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapRefs(v, rename));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string'
        ? `#/components/schemas/${rename(v.split('/').at(-1)!)}`
        : mapRefs(v, rename),
    ]),
  );
}

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The input and the response schemas of a schedule differ only where defaults are filled in
 * (an HttpAction read back always has `method`): the input's variant takes the plain name, a
 * different read-back one `<name>Stored`.
 */
function lift(
  out: Record<string, JsonSchema>,
  holder: JsonSchema | undefined,
  key: string,
  name: string,
): void {
  const site = holder?.[key] as JsonSchema | undefined;
  if (!holder || !site || typeof site.$ref === 'string') return;
  // A default belongs to the property that has it, not to the type.
  const { default: fallback, ...schema } = site;
  const taken = out[name];
  const chosen = taken === undefined || same(taken, schema) ? name : `${name}Stored`;
  if (out[chosen] !== undefined && !same(out[chosen], schema))
    throw new Error(`two different schemas for component ${chosen}`);
  out[chosen] = schema;
  holder[key] = fallback === undefined ? ref(chosen) : { ...ref(chosen), default: fallback };
}

const VARIANTS = {
  schedule: ['CronSchedule', 'EverySchedule', 'AtSchedule'],
  action: ['LogAction', 'HttpAction', 'KubernetesJobAction'],
} as const;

/** Renames hoisted definitions and lifts the schedule's variants into named components. */
export function nameScheduleComponents(components: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const renamed: Record<string, string> = {};
  for (const [name, schema] of Object.entries(components)) {
    if (!/_schema\d+$/.test(name)) continue;
    if (!isJsonValue(schema)) throw new Error(`no stable name for the hoisted schema ${name}`);
    renamed[name] = 'JsonValue';
  }
  const rename = (n: string) => renamed[n] ?? n;
  const out: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(components)) {
    const target = rename(name);
    const mapped = mapRefs(schema, rename) as JsonSchema;
    if (out[target] !== undefined && !same(out[target], mapped))
      throw new Error(`${name} and another definition would both be ${target}`);
    out[target] = mapped;
  }
  for (const owner of ['ScheduleInput', 'Schedule']) {
    const props = out[owner]?.properties as Record<string, JsonSchema> | undefined;
    if (!props) continue;
    for (const [field, names] of Object.entries(VARIANTS)) {
      const variants = props[field]?.oneOf as JsonSchema[] | undefined;
      if (!variants || variants.length !== names.length)
        throw new Error(`${owner}.${field} is no longer a oneOf of ${names.join(', ')}`);
      names.forEach((name, i) => {
        lift(out, variants as unknown as JsonSchema, String(i), name);
      });
      for (const variant of variants) {
        const resolved = out[(variant.$ref as string).split('/').at(-1)!]!;
        lift(out, resolved.properties as JsonSchema, 'retry', 'RetryPolicy');
        lift(out, resolved.properties as JsonSchema, 'template', 'JobTemplate');
      }
    }
    lift(out, props, 'misfire', 'Misfire');
  }
  // What a client writes first, each variant after the body that uses it; the rest as built.
  const first = ['ScheduleInput', ...VARIANTS.schedule, 'LogAction', 'HttpAction', 'RetryPolicy'];
  const order = [...first, 'KubernetesJobAction', 'JobTemplate', 'Misfire', 'JsonValue', 'SchedulePatch'];
  return Object.fromEntries([
    ...order.filter((n) => out[n] !== undefined).map((n) => [n, out[n]!] as const),
    ...Object.entries(out).filter(([n]) => !order.includes(n)),
  ]);
}
