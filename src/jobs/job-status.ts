// What a Job's status says about the run that created it, and which finished Jobs of a schedule
// its history limits let go. Pure, so both are table-tested without an API server
// (job-status.test.ts); job-tracker.ts does the I/O.
import type { V1JobStatus } from '@kubernetes/client-node';

export type JobOutcome =
  | { state: 'active' }
  | { state: 'succeeded'; finishedAt: Date | null }
  | { state: 'failed'; finishedAt: Date | null; reason: string; message: string };

/**
 * A Job is finished once its `Complete` or `Failed` condition is True, as client-go's
 * IsJobFinished reads it (the first such condition wins). `SuccessCriteriaMet` and
 * `FailureTarget` alone are not enough: the Job controller sets them while the Job's pods are
 * still terminating, and a Job whose pods still run is still active for concurrency.
 */
export function jobOutcome(status: V1JobStatus | undefined): JobOutcome {
  for (const c of status?.conditions ?? []) {
    if (c.status !== 'True') continue;
    if (c.type === 'Complete') {
      return {
        state: 'succeeded',
        finishedAt: toDate(c.lastTransitionTime) ?? toDate(status?.completionTime),
      };
    }
    if (c.type === 'Failed') {
      return {
        state: 'failed',
        finishedAt: toDate(c.lastTransitionTime),
        reason: c.reason ?? '',
        message: c.message ?? '',
      };
    }
  }
  return { state: 'active' };
}

/** The run's error for a Job that failed: "Job <ns>/<name> failed: <reason>: <message>". */
export function failureError(
  namespace: string,
  name: string,
  outcome: { reason: string; message: string },
): string {
  const why = [outcome.reason, outcome.message].filter((s) => s !== '').join(': ');
  return `Job ${namespace}/${name} failed${why === '' ? '' : `: ${why}`}`;
}

export interface HistoryLimits {
  succeeded: number;
  failed: number;
}

/** CronJob's defaults. */
export const DEFAULT_HISTORY_LIMITS: HistoryLimits = Object.freeze({ succeeded: 3, failed: 1 });

/** A limit as an annotation carries it; anything but an integer 0..100 reads as the default. */
export function parseLimit(text: string | undefined, fallback: number): number {
  if (text === undefined || !/^\d{1,3}$/.test(text)) return fallback;
  const n = Number(text);
  return n <= 100 ? n : fallback;
}

export interface FinishedJob {
  name: string;
  state: 'succeeded' | 'failed';
  /** the occurrence it ran for (epoch ms): newer occurrences are kept first */
  order: number;
}

/**
 * The finished Jobs of one schedule to delete: all but the newest `limits.succeeded` that
 * succeeded and the newest `limits.failed` that failed, newest by occurrence (names break ties,
 * so every replica would choose the same). Active Jobs are never in `finished`.
 */
export function jobsToPrune(finished: readonly FinishedJob[], limits: HistoryLimits): string[] {
  const newestFirst = [...finished].sort(
    (a, b) => b.order - a.order || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0),
  );
  const kept = { succeeded: 0, failed: 0 };
  const prune: string[] = [];
  for (const j of newestFirst) {
    if (kept[j.state] < limits[j.state]) kept[j.state]++;
    else prune.push(j.name);
  }
  return prune;
}

/** The typed client hands back Dates; a watch event carries the wire strings. Accept both. */
export function toDate(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : new Date(value.getTime());
  if (typeof value === 'string' && value !== '') {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}
