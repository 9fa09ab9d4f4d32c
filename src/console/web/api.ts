// The console's only way to the server: same-origin fetches to api/v1 with the bearer token the
// user entered, kept in sessionStorage (this tab only, gone when it closes). Errors are the API's
// problem documents, kept whole so forms can show each field's message.
import type { Cluster, FieldError, Page, Problem, Run, Schedule } from './types.ts';

const TOKEN_KEY = 'leasecron.token';

export const getToken = (): string => sessionStorage.getItem(TOKEN_KEY) ?? '';
export const setToken = (token: string): void => {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
};

export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  readonly status: number;
  readonly errors: FieldError[];

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.status = problem.status;
    this.errors = problem.errors ?? [];
  }
}

async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const token = getToken();
  const res = await fetch(`api/v1/${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const p = (parsed ?? {}) as Partial<Problem>;
    throw new ApiProblem({
      status: res.status,
      title: p.title ?? res.statusText,
      detail: p.detail ?? `${res.status} ${res.statusText}`,
      errors: p.errors ?? [],
    });
  }
  return parsed as T;
}

const q = (params: Record<string, string | string[] | undefined>): string => {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) sp.append(k, one);
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
};

const sid = (id: string) => `schedules/${encodeURIComponent(id)}`;

export const api = {
  listSchedules: (p: { limit?: number; cursor?: string; paused?: boolean; labels?: string[] }) =>
    call<Page<Schedule>>(
      'GET',
      `schedules${q({
        limit: p.limit === undefined ? undefined : String(p.limit),
        cursor: p.cursor,
        paused: p.paused === undefined ? undefined : String(p.paused),
        label: p.labels,
      })}`,
    ),
  getSchedule: (id: string) => call<Schedule>('GET', sid(id)),
  createSchedule: (body: unknown) => call<Schedule>('POST', 'schedules', body),
  replaceSchedule: (id: string, version: number, body: unknown) =>
    call<Schedule>('PUT', sid(id), body, { 'if-match': `"${version}"` }),
  deleteSchedule: (id: string) => call<void>('DELETE', sid(id)),
  pause: (id: string) => call<Schedule>('POST', `${sid(id)}/pause`),
  resume: (id: string) => call<Schedule>('POST', `${sid(id)}/resume`),
  trigger: (id: string) => call<Run>('POST', `${sid(id)}/trigger`),
  runs: (id: string, p: { limit?: number; cursor?: string } = {}) =>
    call<Page<Run>>(
      'GET',
      `${sid(id)}/runs${q({ limit: p.limit === undefined ? undefined : String(p.limit), cursor: p.cursor })}`,
    ),
  cluster: () => call<Cluster>('GET', 'cluster'),
};
