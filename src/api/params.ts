// Path and query parameters, checked before any store call so a bad one is a 400
// naming the parameter. Unknown query parameters are refused too: a typo such as
// `labels=` must not silently return everything.
import { LabelsSchema } from '../schedule/schema.ts';
import type { ListSchedulesQuery } from '../store/types.ts';
import { badField } from './problem.ts';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Schedule ids are UUIDs (the store issues them); upper case is accepted and normalised. */
export function parseId(raw: string): string {
  const id = raw.toLowerCase();
  if (!UUID.test(id)) throw badField('id', 'must be a UUID, e.g. 3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a10');
  return id;
}

type Query = Record<string, string[]>;

function only(query: Query, allowed: readonly string[]): void {
  for (const name of Object.keys(query)) {
    if (!allowed.includes(name))
      throw badField(name, `unknown query parameter (allowed: ${allowed.join(', ')})`);
  }
}

function single(query: Query, name: string): string | undefined {
  const values = query[name];
  if (values === undefined) return undefined;
  if (values.length !== 1) throw badField(name, 'give it at most once');
  return values[0];
}

function parseLimit(query: Query): number {
  const raw = single(query, 'limit');
  if (raw === undefined) return DEFAULT_LIMIT;
  const n = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw badField('limit', `must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}

function parseCursor(query: Query): string | undefined {
  const raw = single(query, 'cursor');
  if (raw === '') throw badField('cursor', 'must not be empty; omit it for the first page');
  return raw;
}

export function parsePageQuery(query: Query): { limit: number; cursor?: string } {
  only(query, ['limit', 'cursor']);
  const cursor = parseCursor(query);
  return { limit: parseLimit(query), ...(cursor === undefined ? {} : { cursor }) };
}

export function parseListQuery(query: Query): ListSchedulesQuery {
  only(query, ['limit', 'cursor', 'paused', 'label']);
  const out: ListSchedulesQuery = { limit: parseLimit(query) };
  const cursor = parseCursor(query);
  if (cursor !== undefined) out.cursor = cursor;
  const paused = single(query, 'paused');
  if (paused !== undefined) {
    if (paused !== 'true' && paused !== 'false') throw badField('paused', "must be 'true' or 'false'");
    out.paused = paused === 'true';
  }
  const labels = parseLabels(query.label ?? []);
  if (labels) out.labels = labels;
  return out;
}

/** `label=k=v`, repeatable, all must match (AND). */
function parseLabels(values: string[]): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const labels: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw badField('label', `'${value}' is not key=value`);
    const key = value.slice(0, eq);
    const v = value.slice(eq + 1);
    if (Object.hasOwn(labels, key) && labels[key] !== v)
      throw badField('label', `'${key}' is given twice with different values`);
    Object.defineProperty(labels, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  const check = LabelsSchema.safeParse(labels);
  if (!check.success) {
    throw badField('label', check.error.issues.map((i) => i.message).join('; '));
  }
  return labels;
}
