// /docs: the OpenAPI document as plain server-rendered HTML. No scripts and no CDN,
// because clusters are often air-gapped; the full detail stays in /openapi.json.
import type { JsonSchema } from './json-schema.ts';
import type { OpenApiDocument, Operation } from './openapi.ts';

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );
/** Escaped text with `code` spans. */
const text = (s: string): string => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

const refName = (schema: unknown): string | null => {
  const r = (schema as { $ref?: unknown } | undefined)?.$ref;
  return typeof r === 'string' ? r.split('/').at(-1)! : null;
};
const schemaLink = (schema: unknown): string => {
  const name = refName(schema);
  return name ? `<a href="#schema-${esc(name)}">${esc(name)}</a>` : '';
};

function operationHtml(method: string, path: string, op: Operation): string {
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
<p>Responses:</p><ul>${responses}</ul>
</section>`;
}

function typeOf(schema: JsonSchema): string {
  if (typeof schema.$ref === 'string') return refName(schema) ?? '';
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (Array.isArray(variants)) return [...new Set(variants.map(typeOf))].join(' | ');
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  return typeof schema.type === 'string' ? schema.type : 'any';
}

function schemaHtml(name: string, schema: JsonSchema): string {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(props)
    .map(
      ([prop, s]) =>
        `<li><code>${esc(prop)}</code>${required.has(prop) ? ' (required)' : ''}: ${esc(typeOf(s))}${
          typeof s.description === 'string' ? ` — ${text(s.description)}` : ''
        }</li>`,
    )
    .join('');
  const description = typeof schema.description === 'string' ? `<p>${text(schema.description)}</p>` : '';
  return `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3>${description}${rows ? `<ul>${rows}</ul>` : ''}</section>`;
}

export function renderDocsPage(doc: OpenApiDocument): string {
  const operations = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => operationHtml(method, path, op)))
    .join('\n');
  const schemas = Object.entries(doc.components.schemas)
    .filter(([, schema]) => schema.properties !== undefined || schema.description !== undefined)
    .map(([name, schema]) => schemaHtml(name, schema))
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)} API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
section{border-top:1px solid #ddd;padding:.5rem 0}.m{font-family:monospace;background:#eef;padding:0 .3rem}</style>
</head><body>
<h1>${esc(doc.info.title)} API v${esc(doc.info.version)}</h1>
<p>${text(doc.info.description).replace(/\n/g, '<br>')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
<h2>Operations</h2>
${operations}
<h2>Schemas</h2>
${schemas}
</body></html>`;
}
