// The "upcoming" view's maths: the next fires of many schedules, merged in time order. The
// server says when each schedule fires next (`nextRunAt`, authoritative: it counts maxRuns and
// pauses); the fires after it are computed here the way src/schedule/occurrences.ts does —
// cron with the same croner options (test/unit/console-upcoming.test.ts compares them), every
// as nextRunAt + k·period, at from its list — bounded by endAt. Pure: the clock is an argument.
import { Cron, type CronOptions } from 'croner';
import type { Schedule } from './types.ts';

/** The options of src/schedule/cron.ts's cronOptions(), which the engine fires by. */
export function consoleCronOptions(timezone: string | undefined): CronOptions {
  return {
    timezone: timezone ?? 'Etc/UTC',
    mode: '5-or-6-parts',
    domAndDow: false,
    fixedTimeRule: 'single-value',
  };
}

export interface Fire {
  at: Date;
  schedule: Schedule;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `1m30s`, `250ms` → milliseconds; null when it does not read as a duration. */
export function periodMs(every: string): number | null {
  const parts = [...every.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== every.replace(/\s+/g, '')) return null;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}

/**
 * Up to `perSchedule` fires of one schedule from its nextRunAt on, none after `until` or endAt.
 * maxRuns is left to the server: it is counted in nextRunAt, not in the fires after it.
 */
export function firesOf(schedule: Schedule, perSchedule: number, until: Date): Date[] {
  if (schedule.paused || schedule.nextRunAt === null) return [];
  const first = new Date(schedule.nextRunAt);
  const end = Math.min(until.getTime(), schedule.endAt === null ? Infinity : Date.parse(schedule.endAt));
  const out: Date[] = [];
  const push = (d: Date | null) => {
    if (d === null || d.getTime() > end || out.length >= perSchedule) return false;
    out.push(d);
    return true;
  };
  if (!push(first)) return out;
  const spec = schedule.schedule;
  if ('cron' in spec) {
    const cron = new Cron(spec.cron, { ...consoleCronOptions(spec.timezone), paused: true });
    let prev: Date = first;
    while (out.length < perSchedule) {
      const next = cron.nextRun(prev);
      if (!next || !push(next)) break;
      prev = next;
    }
  } else if ('every' in spec) {
    const period = periodMs(spec.every);
    if (period !== null && period > 0)
      for (let k = 1; out.length < perSchedule; k++) if (!push(new Date(first.getTime() + k * period))) break;
  } else {
    for (const at of spec.at) if (Date.parse(at) > first.getTime() && !push(new Date(at))) break;
  }
  return out;
}

/** The next `n` fires across `schedules`, earliest first, within `horizonMs` of `now`. */
export function upcomingFires(schedules: Schedule[], n: number, now: Date, horizonMs: number): Fire[] {
  const until = new Date(now.getTime() + horizonMs);
  return schedules
    .flatMap((schedule) => firesOf(schedule, n, until).map((at) => ({ at, schedule })))
    .sort((a, b) => a.at.getTime() - b.at.getTime() || a.schedule.name.localeCompare(b.schedule.name))
    .slice(0, n);
}
