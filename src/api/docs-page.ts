// /docs: the OpenAPI document as plain server-rendered HTML. No scripts and no CDN,
// because clusters are often air-gapped; the full detail stays in /openapi.json.
// It teaches as well as lists: every schema with each field's type, default, limits and
// example, every variant of `schedule` and `action` as a section of its own, and the
// request examples of the document next to the operations and the variants they use.
import type { JsonSchema } from './json-schema.ts';
import type { OpenApiDocument, Operation } from './openapi.ts';

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );
/** Escaped text with `code` spans. */
const text = (s: string): string => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');
const pretty = (v: unknown): string => esc(JSON.stringify(v, null, 2));

const refName = (schema: unknown): string | null => {
  const r = (schema as { $ref?: unknown } | undefined)?.$ref;
  return typeof r === 'string' ? r.split('/').at(-1)! : null;
};
const link = (name: string): string => `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
const schemaLink = (schema: unknown): string => {
  const name = refName(schema);
  return name ? link(name) : '';
};

interface RequestExample {
  id: string;
  summary: string;
  method: string;
  path: string;
  value: unknown;
}

function requestExamples(doc: OpenApiDocument): RequestExample[] {
  const out: RequestExample[] = [];
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops))
      for (const media of Object.values(op.requestBody?.content ?? {}))
        for (const [name, ex] of Object.entries(media.examples ?? {}))
          out.push({ id: `${op.operationId}-${name}`, summary: ex.summary, method, path, value: ex.value });
  return out;
}

function requestHtml(ex: RequestExample): string {
  return `<pre id="example-${esc(ex.id)}">${ex.method.toUpperCase()} ${esc(ex.path)}
Content-Type: application/json
Authorization: Bearer $TOKEN

${pretty(ex.value)}</pre>`;
}

function operationHtml(method: string, path: string, op: Operation, examples: RequestExample[]): string {
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<li><code>${esc(p.name)}</code> (${p.in}${p.required ? ', required' : ''}): ${text(p.description)}</li>`,
    )
    .join('');
  const body = op.requestBody
    ? Object.entries(op.requestBody.content)
        .map(([type, media]) => `<code>${esc(type)}</code> ${schemaLink(media.schema)}`)
        .join(', ')
    : '';
  const own = examples.filter((e) => e.id.startsWith(`${op.operationId}-`));
  const exampleHtml = own.map((e) => `<p>Example: ${esc(e.summary)}</p>${requestHtml(e)}`).join('');
  const responses = Object.entries(op.responses)
    .map(([status, r]) => {
      const schema = Object.values((r.content ?? {}) as Record<string, { schema?: unknown }>)[0]?.schema;
      return `<li><b>${esc(status)}</b> ${text(r.description)} ${schemaLink(schema)}</li>`;
    })
    .join('');
  return `<section id="${esc(op.operationId)}">
<h3><span class="m">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p>${text(op.summary)}${op.description ? `. ${text(op.description)}` : ''}</p>
${params ? `<p>Parameters:</p><ul>${params}</ul>` : ''}
${body ? `<p>Body: ${body}</p>` : ''}
${exampleHtml}
<p>Responses:</p><ul>${responses}</ul>
</section>`;
}

/** The type as a reader wants it: named types linked, variants joined, arrays of their items. */
function typeOf(schema: JsonSchema): string {
  if (typeof schema.$ref === 'string') return link(refName(schema)!);
  if (schema.const !== undefined) return `<code>${esc(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.enum))
    return schema.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ');
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (Array.isArray(variants)) {
    const names = [...new Set(variants.map(typeOf))];
    return variants.every((v) => typeof v.$ref === 'string')
      ? `one of ${names.join(' | ')}`
      : names.join(' | ');
  }
  if (schema.type === 'array' && schema.items) return `array of ${typeOf(schema.items as JsonSchema)}`;
  if (
    schema.type === 'object' &&
    schema.additionalProperties &&
    typeof schema.additionalProperties === 'object'
  )
    return `map of string to ${typeOf(schema.additionalProperties as JsonSchema)}`;
  if (Array.isArray(schema.type)) return esc(schema.type.join(' | '));
  const base = typeof schema.type === 'string' ? schema.type : 'any';
  return esc(typeof schema.format === 'string' ? `${base} (${schema.format})` : base);
}

/** Default, limits and an example, when the schema has them. */
function facts(s: JsonSchema): string {
  const out: string[] = [];
  if (s.default !== undefined) out.push(`default <code>${esc(JSON.stringify(s.default))}</code>`);
  const limits: [string, string][] = [
    ['minimum', '≥'],
    ['maximum', '≤'],
    ['minLength', 'length ≥'],
    ['maxLength', 'length ≤'],
    ['minItems', 'items ≥'],
    ['maxItems', 'items ≤'],
  ];
  for (const [key, label] of limits) if (typeof s[key] === 'number') out.push(`${label} ${s[key]}`);
  const examples = s.examples as unknown[] | undefined;
  if (Array.isArray(examples) && examples.length > 0)
    out.push(`e.g. ${examples.map((e) => `<code>${esc(JSON.stringify(e))}</code>`).join(', ')}`);
  return out.length ? ` <span class="f">(${out.join('; ')})</span>` : '';
}

/** Whether `value` holds, anywhere, an object this variant describes (its consts and required keys). */
function uses(value: unknown, variant: JsonSchema): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => uses(v, variant));
  const obj = value as Record<string, unknown>;
  const props = (variant.properties ?? {}) as Record<string, JsonSchema>;
  const required = (variant.required as string[] | undefined) ?? [];
  const keys = Object.keys(obj);
  const fits =
    keys.length > 0 &&
    Object.keys(props).length > 0 &&
    required.every((k) => k in obj) &&
    (variant.additionalProperties !== false || keys.every((k) => k in props)) &&
    Object.entries(props).every(([k, p]) => p.const === undefined || obj[k] === p.const);
  return fits || Object.values(obj).some((v) => uses(v, variant));
}

/** Components that are one variant of a `oneOf` (a schedule kind, an action type). */
function variantNames(doc: OpenApiDocument): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const oneOf = (v as JsonSchema).oneOf;
      if (Array.isArray(oneOf)) for (const s of oneOf) if (refName(s)) out.add(refName(s)!);
      Object.values(v).forEach(walk);
    }
  };
  walk(doc.components.schemas);
  return out;
}

function schemaHtml(name: string, schema: JsonSchema, examples: RequestExample[], variant: boolean): string {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(props)
    .map(
      ([prop, s]) =>
        `<li><code>${esc(prop)}</code>${required.has(prop) ? ' (required)' : ''}: ${typeOf(s)}${facts(s)}${
          typeof s.description === 'string' ? ` — ${text(s.description)}` : ''
        }</li>`,
    )
    .join('');
  const description = typeof schema.description === 'string' ? `<p>${text(schema.description)}</p>` : '';
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  const oneOf = Array.isArray(variants) && !rows ? `<p>${typeOf(schema)}</p>` : '';
  const own = Array.isArray(schema.examples)
    ? (schema.examples as unknown[]).map((e) => `<p>Example:</p><pre>${pretty(e)}</pre>`).join('')
    : '';
  // A variant (a schedule kind, an action type) is shown in a whole request that uses it; a
  // smaller piece (a retry policy, …) links to one.
  const inRequest =
    name === 'ScheduleInput' || name === 'Schedule' ? undefined : examples.find((e) => uses(e.value, schema));
  const request = !inRequest
    ? ''
    : variant
      ? `<p>Example request (${esc(inRequest.summary)}; also under <a href="#${esc(inRequest.id.split('-')[0]!)}">its operation</a>):</p>${requestHtml({ ...inRequest, id: `${inRequest.id}-${name}` })}`
      : `<p>Used in the example request <a href="#example-${esc(inRequest.id)}">${esc(inRequest.summary)}</a>.</p>`;
  return `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3>${description}${oneOf}${rows ? `<ul>${rows}</ul>` : ''}${own}${request}</section>`;
}

export function renderDocsPage(doc: OpenApiDocument): string {
  const examples = requestExamples(doc);
  const operations = Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => operationHtml(method, path, op, examples)),
    )
    .join('\n');
  const shown = Object.entries(doc.components.schemas).filter(
    ([, schema]) =>
      schema.properties !== undefined || schema.description !== undefined || schema.anyOf !== undefined,
  );
  const variants = variantNames(doc);
  const schemas = shown
    .map(([name, schema]) => schemaHtml(name, schema, examples, variants.has(name)))
    .join('\n');
  const index = (names: string[]) =>
    names
      .filter((n) => doc.components.schemas[n])
      .map(link)
      .join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)} API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
section{border-top:1px solid #ddd;padding:.5rem 0}.m{font-family:monospace;background:#eef;padding:0 .3rem}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:13px}.f{color:#555}</style>
</head><body>
<h1>${esc(doc.info.title)} API v${esc(doc.info.version)}</h1>
<p><a href="/">Web console</a> · machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
<p>${text(doc.info.description).replace(/\n/g, '<br>')}</p>
<p>A schedule (${link('ScheduleInput')}) says when (<code>schedule</code>: ${index(['CronSchedule', 'EverySchedule', 'AtSchedule'])}) and what (<code>action</code>: ${index(['LogAction', 'HttpAction', 'KubernetesJobAction'])}). Example requests: ${examples
    .filter((e) => e.id.startsWith('createSchedule-'))
    .map((e) => `<a href="#example-${esc(e.id)}">${esc(e.summary)}</a>`)
    .join('; ')}.</p>
<h2>Operations</h2>
${operations}
<h2>Schemas</h2>
${schemas}
</body></html>`;
}
