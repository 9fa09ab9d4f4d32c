// Durations for `{ every: "30s" }` schedules. The grammar is deliberately narrow
// (integers, units h/m/s/ms, each unit at most once, largest first) so a string has
// exactly one meaning and formatDuration can print the canonical form back.

const MS_PER_UNIT = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof MS_PER_UNIT;
const UNIT_ORDER: readonly Unit[] = ['h', 'm', 's', 'ms'];

export const MIN_DURATION_MS = 1;
export const MAX_DURATION_MS = 366 * 24 * 3_600_000;

export class InvalidDurationError extends Error {
  override readonly name = 'InvalidDurationError';
  readonly input: string;

  constructor(input: string, reason: string, options?: ErrorOptions) {
    super(`invalid duration '${input}': ${reason}`, options);
    this.input = input;
  }
}

const PART = /(\d+)([a-zA-Zµ]*)/y;

/** Milliseconds in a duration such as `500ms`, `30s`, `5m`, `2h` or `1h30m`. */
export function parseDuration(input: string): number {
  if (typeof input !== 'string') throw new InvalidDurationError(String(input), 'expected a string');
  if (input === '') throw new InvalidDurationError(input, 'empty; expected e.g. 30s, 5m, 1h30m');
  if (input.startsWith('-')) throw new InvalidDurationError(input, 'must be positive');
  if (/\d[.,]\d/.test(input))
    throw new InvalidDurationError(input, 'fractions are not supported (write 1h30m, not 1.5h)');

  let total = 0;
  let lastRank = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const at = PART.lastIndex;
    const match = PART.exec(input);
    if (!match)
      throw new InvalidDurationError(input, `unexpected '${input.slice(at)}' (expected e.g. 30s, 5m, 1h30m)`);
    const [, digits = '', unit = ''] = match;
    if (unit === '') throw new InvalidDurationError(input, `'${digits}' has no unit (use ms, s, m or h)`);
    if (!isUnit(unit)) throw new InvalidDurationError(input, `unknown unit '${unit}' (use ms, s, m or h)`);
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank) {
      throw new InvalidDurationError(
        input,
        `unit '${unit}' repeated or out of order (use h, m, s, ms in that order)`,
      );
    }
    lastRank = rank;
    total += Number(digits) * MS_PER_UNIT[unit];
  }

  // Checked after summing: a huge digit string makes `total` unsafe, which also means "too long".
  if (!Number.isSafeInteger(total) || total > MAX_DURATION_MS) {
    throw new InvalidDurationError(input, 'must be at most 366 days');
  }
  if (total < MIN_DURATION_MS) throw new InvalidDurationError(input, 'must be at least 1ms');
  return total;
}

function isUnit(s: string): s is Unit {
  return Object.hasOwn(MS_PER_UNIT, s);
}

/** Canonical form of a non-negative whole number of milliseconds, e.g. 5_400_000 → `1h30m`. */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`formatDuration: expected a non-negative integer, got ${ms}`);
  }
  if (ms === 0) return '0ms';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const count = Math.floor(rest / MS_PER_UNIT[unit]);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * MS_PER_UNIT[unit];
  }
  return out;
}
