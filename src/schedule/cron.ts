// Everything that turns a cron pattern into instants — request validation, occurrence
// maths, the engine's timers — must use the same croner options, or two replicas (or
// two versions) could disagree about when a schedule fires. This module owns those
// options, the time-zone check and a small cache of parsed patterns.
import { Cron, type CronOptions } from 'croner';

/** Zone used when a cron schedule names none. Never the process's local zone: replicas may differ. */
export const DEFAULT_TIME_ZONE = 'Etc/UTC';

export const MAX_CRON_PATTERN_LENGTH = 256;

/**
 * Options for every croner `Cron` built from a schedule. The defaults are pinned rather
 * than inherited so a croner upgrade that changes them cannot silently move fires.
 * Add `paused`/callbacks per use; do not change these.
 */
export function cronOptions(timezone: string | undefined): CronOptions {
  return {
    timezone: timezone ?? DEFAULT_TIME_ZONE,
    mode: '5-or-6-parts',
    domAndDow: false,
    fixedTimeRule: 'single-value',
  };
}

export class InvalidCronError extends Error {
  override readonly name = 'InvalidCronError';
  readonly pattern: string;
  readonly timezone: string | undefined;

  constructor(pattern: string, timezone: string | undefined, reason: string, options?: ErrorOptions) {
    super(`invalid cron expression '${pattern}'${timezone ? ` in ${timezone}` : ''}: ${reason}`, options);
    this.pattern = pattern;
    this.timezone = timezone;
  }
}

/**
 * Why `pattern` is not an acceptable schedule, or null if it is. Rejects what croner
 * rejects, 7-field patterns, ISO date strings (croner would treat them as one-shot
 * jobs; `{ at }` is for that) and patterns that match no date at all.
 */
export function cronPatternProblem(pattern: string): string | null {
  if (pattern.length > MAX_CRON_PATTERN_LENGTH) return `longer than ${MAX_CRON_PATTERN_LENGTH} characters`;
  const known = problemCache.get(pattern);
  if (known !== undefined) return known;
  const problem = findPatternProblem(pattern);
  remember(problemCache, pattern, problem);
  return problem;
}

// Every stored schedule is checked again when it is read (schedule/stored.ts), 100,000 of
// them when a leader arms: parsing costs ~40 µs, so the answers of these two pure checks
// are kept. Small strings only, so the bound is generous; full means start over.
const CHECK_CACHE_LIMIT = 4096;
const problemCache = new Map<string, string | null>();
const zoneCache = new Map<string, boolean>();

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CHECK_CACHE_LIMIT) cache.clear();
  cache.set(key, value);
}

function findPatternProblem(pattern: string): string | null {
  let cron: Cron;
  try {
    cron = new Cron(withRangedSteps(pattern), { ...cronOptions(undefined), paused: true });
  } catch (error) {
    return cronerReason(error);
  }
  if (cron.getPattern() === undefined)
    return 'a date, not a cron pattern (use { "at": [...] } for one-shot times)';
  // Without a year field, a pattern that matches at all matches within a few decades
  // of any date, so a fixed reference keeps this check pure.
  if (cron.nextRun(new Date(0)) === null) return 'never matches any date';
  return null;
}

// Largest value of each field, for 5 and 6 fields. Day of week counts Sunday as 0 (croner also
// takes 7, but 1/2 must mean Mon, Wed, Fri as in robfig/cron, not also Sunday).
const FIELD_MAX: Record<number, readonly number[]> = {
  5: [59, 23, 31, 12, 6],
  6: [59, 59, 23, 31, 12, 6],
};

/**
 * The pattern croner is given: `N/step` ("from N, every step", as Quartz, Spring and robfig/cron
 * read it) written as the range croner accepts, `N-max/step`. croner refuses the short form
 * ("stepping with numeric prefix is not allowed"). Only this spelling changes, so the stored
 * pattern stays as its author wrote it and every replica computes the same instants from it.
 */
export function withRangedSteps(pattern: string): string {
  const fields = pattern.trim().split(/\s+/);
  const max = FIELD_MAX[fields.length];
  if (max === undefined || !pattern.includes('/')) return pattern;
  return fields
    .map((field, i) =>
      field
        .split(',')
        .map((part) => {
          const m = /^([0-9]+)\/([0-9]+)$/.exec(part);
          if (!m) return part;
          // a start past the field's end stays out of range, so croner names the field
          const end = Math.max(Number(m[1]), max[i]!);
          return `${m[1]}-${end}/${m[2]}`;
        })
        .join(','),
    )
    .join(' ');
}

function cronerReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Cron(Pattern|Date)?: /, '');
}

// IANA names only: Intl also accepts offsets such as "+01:00", which have no DST rules.
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

/** True when `zone` is an IANA time-zone name this runtime knows. */
export function isKnownTimeZone(zone: string): boolean {
  if (!IANA_NAME.test(zone)) return false;
  const known = zoneCache.get(zone);
  if (known !== undefined) return known;
  let ok: boolean;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    ok = true;
  } catch {
    ok = false;
  }
  remember(zoneCache, zone, ok);
  return ok;
}

// Zones that are UTC under another name. croner converts every step of a search through
// Intl when it is given a zone, which costs 20–30 µs per nextRun; with a fixed zero
// offset it finds the same instants 7–25× faster (bench/README.md, arming). UTC has no
// DST, so the two agree by construction; cron.test.ts checks it on a table of patterns.
const UTC_ZONES = new Set([
  'UTC',
  'Etc/UTC',
  'Etc/UCT',
  'UCT',
  'Etc/Universal',
  'Universal',
  'Etc/Zulu',
  'Zulu',
]);

/** cronOptions for a schedule's Cron, with UTC zones as a fixed zero offset (same instants, faster). */
function parsingOptions(timezone: string | undefined): CronOptions {
  const { timezone: zone, ...rest } = cronOptions(timezone);
  return zone !== undefined && UTC_ZONES.has(zone) ? { ...rest, utcOffset: 0 } : { ...rest, timezone: zone };
}

// A parsed croner Cron holds ~80 KB (mostly a 10,000-entry year table), so the cache
// stays small; parsing costs ~20 µs, so a miss is cheap. Entries are refreshed on use.
const CACHE_LIMIT = 128;
const cache = new Map<string, Cron>();

/**
 * A paused croner `Cron` for `pattern` in `timezone` (default UTC), shared between
 * callers. Use only its pure methods (`nextRun(date)`, `match`); never schedule it.
 * @throws InvalidCronError when the pattern or zone is invalid.
 */
export function cronFor(pattern: string, timezone: string | undefined): Cron {
  const key = `${timezone ?? DEFAULT_TIME_ZONE}\u0000${pattern}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  if (timezone !== undefined && !isKnownTimeZone(timezone)) {
    throw new InvalidCronError(pattern, timezone, `unknown time zone '${timezone}'`);
  }
  let cron: Cron;
  try {
    cron = new Cron(withRangedSteps(pattern), { ...parsingOptions(timezone), paused: true });
  } catch (error) {
    throw new InvalidCronError(pattern, timezone, cronerReason(error), { cause: error });
  }
  if (cron.getPattern() === undefined)
    throw new InvalidCronError(pattern, timezone, 'a date, not a cron pattern');
  cache.set(key, cron);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return cron;
}
