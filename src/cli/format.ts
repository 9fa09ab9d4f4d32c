// What `leasecron` prints, as pure functions of the API's JSON and a clock: kubectl-style
// tables (upper-case headers, columns padded by three spaces, `<none>` for empty), relative
// times ("5s", "in 3m"), and problem+json bodies as readable lines.

/** The fields of a schedule resource the CLI shows (the API sends more). */
export interface ScheduleView {
  id: string;
  name: string;
  namespace?: string;
  version: number;
  schedule: { cron?: string; timezone?: string; every?: string; at?: string[] };
  action: { type: string; url?: string; method?: string };
  paused: boolean;
  concurrency?: string;
  labels?: Record<string, string>;
  createdAt: string;
  nextRunAt: string | null;
  source?: unknown;
}

export interface RunView {
  id: string;
  scheduleName?: string;
  scheduledFor: string;
  createdAt: string;
  firedAt: string | null;
  finishedAt: string | null;
  status: string;
  attempts: number;
  trigger: string;
  leader: string | null;
  epoch: number | null;
  latenessMs: number | null;
  error: string | null;
  response: { statusCode?: number; durationMs: number; summary?: string } | null;
}

export interface ClusterView {
  identity: string;
  role: string;
  leader: string | null;
  leaseTransitions: number | null;
  renewTime: string | null;
  acquireTime: string | null;
  leaseName: string;
  namespace: string;
  auth?: { mode: string; warning?: string };
}

export interface Problem {
  status?: number;
  title?: string;
  detail?: string;
  errors?: { field: string; message: string }[];
  requestId?: string;
}

const NONE = '<none>';

/** Columns left-aligned, separated by three spaces, as kubectl prints them. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** kubectl's age format: 45s, 3m12s, 5h3m, 2d4h, 400d. */
export function humanDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 || m >= 10 ? `${m}m` : `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 || h >= 8 ? `${h}h` : `${h}h${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 || d >= 8 ? `${d}d` : `${d}d${h % 24}h`;
}

/** A future instant as "in 3s", a past one as "3s ago", absent as <none>. */
export function relative(iso: string | null | undefined, now: Date): string {
  if (!iso) return NONE;
  const delta = Date.parse(iso) - now.getTime();
  if (Number.isNaN(delta)) return iso;
  return delta >= 0 ? `in ${humanDuration(delta)}` : `${humanDuration(delta)} ago`;
}

export function age(iso: string | null | undefined, now: Date): string {
  if (!iso) return NONE;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : humanDuration(now.getTime() - t);
}

/** The schedule's expression in one cell: the cron pattern, `every 5s`, or the at instants. */
export function describeSpec(spec: ScheduleView['schedule']): string {
  if (spec.cron !== undefined) return spec.cron;
  if (spec.every !== undefined) return `every ${spec.every}`;
  const at = spec.at ?? [];
  if (at.length === 1) return `at ${at[0]}`;
  return `at ${at[0] ?? ''} (+${at.length - 1} more)`;
}

function labelsCell(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? NONE : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

function actionCell(action: ScheduleView['action']): string {
  if (action.type === 'http' && action.url) return `http ${action.method ?? 'POST'} ${action.url}`;
  return action.type;
}

export function schedulesTable(
  items: readonly ScheduleView[],
  now: Date,
  opts: { wide?: boolean; namespaces?: boolean } = {},
): string {
  const headers = [
    ...(opts.namespaces ? ['NAMESPACE'] : []),
    'NAME',
    'SCHEDULE',
    'TIMEZONE',
    'PAUSED',
    'NEXT RUN',
    'AGE',
    ...(opts.wide ? ['ID', 'ACTION', 'CONCURRENCY', 'VERSION', 'LABELS'] : []),
  ];
  const rows = items.map((s) => [
    ...(opts.namespaces ? [s.namespace ?? NONE] : []),
    s.name,
    describeSpec(s.schedule),
    s.schedule.cron !== undefined ? (s.schedule.timezone ?? 'Etc/UTC') : NONE,
    String(s.paused),
    relative(s.nextRunAt, now),
    age(s.createdAt, now),
    ...(opts.wide
      ? [s.id, actionCell(s.action), s.concurrency ?? NONE, String(s.version), labelsCell(s.labels)]
      : []),
  ]);
  return table(headers, rows);
}

function ms(n: number | null | undefined): string {
  return n === null || n === undefined ? NONE : `${Math.round(n)}ms`;
}

/** One run's outcome in a cell: the error, else the response's status and summary. */
function resultCell(r: RunView): string {
  if (r.error) return oneLine(r.error, 80);
  if (!r.response) return NONE;
  const parts = [
    r.response.statusCode === undefined ? '' : String(r.response.statusCode),
    r.response.summary ?? '',
  ];
  const text = parts.filter(Boolean).join(' ');
  return text ? oneLine(text, 80) : NONE;
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export const RUN_HEADERS = [
  'SCHEDULED FOR',
  'STATUS',
  'TRIGGER',
  'LEADER',
  'EPOCH',
  'LATENESS',
  'ATTEMPTS',
  'AGE',
];
const RUN_WIDE_HEADERS = ['ID', 'DURATION', 'RESULT'];

export function runRow(r: RunView, now: Date, wide = false): string[] {
  return [
    r.scheduledFor,
    r.status,
    r.trigger,
    r.leader ?? NONE,
    r.epoch === null ? NONE : String(r.epoch),
    ms(r.latenessMs),
    String(r.attempts),
    age(r.scheduledFor, now),
    ...(wide ? [r.id, ms(r.response?.durationMs), resultCell(r)] : []),
  ];
}

export function runHeaders(wide = false): string[] {
  return wide ? [...RUN_HEADERS, ...RUN_WIDE_HEADERS] : RUN_HEADERS;
}

export function runsTable(items: readonly RunView[], now: Date, wide = false): string {
  return table(
    runHeaders(wide),
    items.map((r) => runRow(r, now, wide)),
  );
}

export function clusterTable(c: ClusterView, now: Date, wide = false): string {
  const headers = [
    'LEADER',
    'TRANSITIONS',
    'RENEWED',
    'REPLICA',
    'ROLE',
    ...(wide ? ['LEASE', 'ACQUIRED', 'AUTH'] : []),
  ];
  const row = [
    c.leader ?? NONE,
    c.leaseTransitions === null ? NONE : String(c.leaseTransitions),
    c.renewTime ? `${age(c.renewTime, now)} ago` : NONE,
    c.identity,
    c.role,
    ...(wide ? [`${c.namespace}/${c.leaseName}`, c.acquireTime ?? NONE, c.auth?.mode ?? NONE] : []),
  ];
  const out = table(headers, [row]);
  return c.auth?.warning ? `${out}\nwarning: ${c.auth.warning}` : out;
}

/** A problem+json body (or whatever the server sent) as the lines of an error message. */
export function formatProblem(status: number, body: unknown, statusText = ''): string {
  const p: Problem = body !== null && typeof body === 'object' ? (body as Problem) : {};
  const head = `${status}${p.title ? ` ${p.title}` : statusText ? ` ${statusText}` : ''}`;
  const detail = p.detail ?? (typeof body === 'string' && body ? oneLine(body, 200) : undefined);
  const lines = [`error: ${detail ? `${detail} (${head})` : head}`];
  for (const e of p.errors ?? []) lines.push(`  ${e.field || '(body)'}: ${e.message}`);
  if (p.requestId) lines.push(`  request id: ${p.requestId}`);
  return lines.join('\n');
}
