import { describe, expect, it } from 'vitest';
import { validateScheduleInput } from '../schedule/schema.ts';
import { renderDocsPage } from './docs-page.ts';
import { SCHEDULE_EXAMPLES } from './examples.ts';
import { buildOpenApiDocument } from './openapi.ts';

const doc = buildOpenApiDocument();
const html = renderDocsPage(doc);
const VARIANTS = [
  'CronSchedule',
  'EverySchedule',
  'AtSchedule',
  'LogAction',
  'HttpAction',
  'KubernetesJobAction',
];

describe('request examples', () => {
  it.each(Object.entries(SCHEDULE_EXAMPLES))('%s is a valid schedule', (_, example) => {
    const result = validateScheduleInput(example.value);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('use every schedule kind and every action type between them', () => {
    const values = Object.values(SCHEDULE_EXAMPLES).map((e) => e.value);
    expect(new Set(values.flatMap((v) => Object.keys(v.schedule)).filter((k) => k !== 'timezone'))).toEqual(
      new Set(['cron', 'every', 'at']),
    );
    expect(new Set(values.map((v) => v.action.type))).toEqual(new Set(['log', 'http', 'kubernetesJob']));
  });

  it('are in the document on create and replace', () => {
    for (const op of [doc.paths['/api/v1/schedules']!.post!, doc.paths['/api/v1/schedules/{id}']!.put!])
      expect(op.requestBody?.content['application/json']?.examples).toEqual(SCHEDULE_EXAMPLES);
  });
});

describe('schema names', () => {
  it('are stable words, no hoisted internals such as ScheduleInput_schema0', () => {
    for (const name of Object.keys(doc.components.schemas)) expect(name).toMatch(/^[A-Z][A-Za-z]+$/);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining([...VARIANTS, 'JsonValue']));
  });

  it('give schedule and action one named component per variant', () => {
    const props = doc.components.schemas.ScheduleInput!.properties as Record<string, { oneOf: unknown[] }>;
    expect(props.schedule!.oneOf).toEqual(
      ['CronSchedule', 'EverySchedule', 'AtSchedule'].map((n) => ({ $ref: `#/components/schemas/${n}` })),
    );
    expect(props.action!.oneOf).toEqual(
      ['LogAction', 'HttpAction', 'KubernetesJobAction'].map((n) => ({ $ref: `#/components/schemas/${n}` })),
    );
  });
});

describe('/docs', () => {
  const section = (name: string) => html.split(`<section id="schema-${name}">`)[1]!.split('</section>')[0]!;

  it.each(VARIANTS)('shows %s with its fields and a whole example request', (name) => {
    const s = section(name);
    expect(s).toContain('<li><code>');
    expect(s).toMatch(/Example request .*<pre[^>]*>POST \/api\/v1\/schedules\n/s);
  });

  it('expands nested types into links and shows defaults and limits', () => {
    expect(section('ScheduleInput')).toContain(
      'one of <a href="#schema-CronSchedule">CronSchedule</a> | <a href="#schema-EverySchedule">EverySchedule</a>',
    );
    expect(section('HttpAction')).toContain('<a href="#schema-RetryPolicy">RetryPolicy</a>');
    expect(section('HttpAction')).toContain('default <code>10000</code>');
    expect(section('RetryPolicy')).toContain('≤ 10');
  });

  it('shows each create example under the operation and links the console', () => {
    for (const name of Object.keys(SCHEDULE_EXAMPLES))
      expect(html).toContain(`<pre id="example-createSchedule-${name}">POST /api/v1/schedules`);
    expect(html).toContain('<a href="/">Web console</a>');
  });
});
