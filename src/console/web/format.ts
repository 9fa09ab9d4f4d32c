// Pure text for the console's tables: how a schedule, an instant, a duration or a run reads.
// No DOM here, so unit tests run it in Node (test/unit/console-format.test.ts).
import type { Run, Schedule, ScheduleSpec } from './types.ts';

export type Kind = 'cron' | 'every' | 'at';

export function kindOf(spec: ScheduleSpec): Kind {
  if ('cron' in spec) return 'cron';
  if ('every' in spec) return 'every';
  return 'at';
}

/** The expression column: the cron pattern, the period, or the one-shot times (first few). */
export function expressionOf(spec: ScheduleSpec, maxAt = 2): string {
  if ('cron' in spec) return spec.cron;
  if ('every' in spec) return spec.every;
  const shown = spec.at.slice(0, maxAt).join(', ');
  return spec.at.length > maxAt ? `${shown} (+${spec.at.length - maxAt} more)` : shown;
}

/** Cron runs in its zone (UTC when none is named); every and at are absolute instants. */
export function zoneOf(spec: ScheduleSpec): string {
  return 'cron' in spec ? (spec.timezone ?? 'UTC') : '—';
}

/** `12 s ago`, `in 3 min`, `in 2 h`: coarse, for scanning a table; the title has the instant. */
export function relative(iso: string | null, now: Date): string {
  if (iso === null) return '—';
  const ms = Date.parse(iso) - now.getTime();
  if (Number.isNaN(ms)) return iso;
  const abs = Math.abs(ms);
  const span =
    abs < 1000
      ? 'now'
      : abs < 60_000
        ? `${Math.round(abs / 1000)} s`
        : abs < 3_600_000
          ? `${Math.round(abs / 60_000)} min`
          : abs < 172_800_000
            ? `${Math.round(abs / 3_600_000)} h`
            : `${Math.round(abs / 86_400_000)} d`;
  if (span === 'now') return span;
  return ms > 0 ? `in ${span}` : `${span} ago`;
}

/** An instant as local date and time to the second, e.g. `2026-12-01 10:00:05`. */
export function localTime(iso: string | null): string {
  if (iso === null) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function millis(ms: number | null): string {
  if (ms === null) return '—';
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** The run's outcome in one line: HTTP status and time, the Job, or the error. */
export function responseSummary(run: Run): string {
  const parts: string[] = [];
  if (run.response) {
    if (run.response.statusCode !== undefined) parts.push(`HTTP ${run.response.statusCode}`);
    parts.push(millis(run.response.durationMs));
    if (run.response.summary) parts.push(run.response.summary);
  }
  if (run.job) parts.push(`Job ${run.job.namespace}/${run.job.name}`);
  if (run.error) parts.push(run.error);
  return parts.join(' · ') || '—';
}

export const labelText = (labels: Record<string, string>): string[] =>
  Object.entries(labels).map(([k, v]) => `${k}=${v}`);

/** `team=a, env=prod` → label query values; blanks dropped. A pair without `=` is reported. */
export function parseLabelFilter(text: string): { labels: string[]; error: string | null } {
  const labels = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = labels.find((l) => l.indexOf('=') <= 0);
  return { labels, error: bad === undefined ? null : `'${bad}' is not key=value` };
}

/** The page's own text filter: a case-insensitive match on name, expression, action or labels. */
export function matchesText(schedule: Schedule, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (needle === '') return true;
  const hay = [
    schedule.name,
    schedule.description ?? '',
    expressionOf(schedule.schedule, Number.POSITIVE_INFINITY),
    schedule.action.type,
    typeof schedule.action.url === 'string' ? schedule.action.url : '',
    ...labelText(schedule.labels),
  ]
    .join('\n')
    .toLowerCase();
  return hay.includes(needle);
}
