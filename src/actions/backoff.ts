// Pure retry-delay maths for the http action, kept free of clocks and timers so every case is a
// table row: exponential backoff with full jitter, and the server's Retry-After hint.

/** Longest wait between two attempts, whatever the backoff or the server asks for. */
export const MAX_RETRY_DELAY_MS = 5 * 60 * 1000;

export interface RetryDelayInput {
  /** 1-based number of the attempt that just failed. */
  attempt: number;
  backoffMs: number;
  /** Raw Retry-After header of the failed response, if the caller honours it for this status. */
  retryAfter?: string | null;
  now: Date;
  /** Uniform in [0, 1), like Math.random. */
  random: () => number;
  capMs: number;
}

/**
 * Milliseconds to wait before the next attempt: full jitter over `backoffMs * 2^(attempt-1)`
 * ("Exponential Backoff And Jitter", AWS architecture blog). A valid Retry-After is a floor, not
 * a replacement, so a server answering `Retry-After: 0` cannot make us retry in a tight loop.
 * Everything is capped at `capMs`.
 */
export function retryDelayMs(input: RetryDelayInput): number {
  const { attempt, backoffMs, retryAfter, now, random, capMs } = input;
  const ceiling = Math.max(0, Math.min(capMs, backoffMs * 2 ** (Math.max(1, attempt) - 1)));
  const jittered = Math.floor(random() * ceiling);
  const hinted = retryAfter == null ? null : parseRetryAfter(retryAfter, now);
  return Math.max(0, Math.min(capMs, hinted === null ? jittered : Math.max(hinted, jittered)));
}

const DAYS = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAYS = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// The three HTTP-date forms of RFC 9110 section 5.6.7; Date.parse is too lenient ("1.5" is a date to V8).
const IMF_FIXDATE = new RegExp(`^${DAYS}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAYS}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAYS} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * Milliseconds from `now` that a Retry-After value (delta-seconds or HTTP-date) asks us to wait;
 * 0 for a date in the past, null when the value is absent or not valid.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | null {
  if (value == null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = parseHttpDate(text, now);
  return at === null ? null : Math.max(0, at - now.getTime());
}

function parseHttpDate(text: string, now: Date): number | null {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m = RFC850_DATE.exec(text);
  if (m) {
    // RFC 9110: a two-digit year more than 50 years ahead means the most recent past such year.
    const thisYear = now.getUTCFullYear();
    let year = thisYear - (thisYear % 100) + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(Number(m[6]), m[1]!, m[2]!.trim(), m[3]!, m[4]!, m[5]!);
  return null;
}

function utc(year: number, month: string, day: string, h: string, min: string, s: string): number | null {
  const monthIndex = MONTHS.indexOf(month);
  const [d, hh, mm, ss] = [Number(day), Number(h), Number(min), Number(s)];
  if (hh > 23 || mm > 59 || ss > 60) return null;
  const midnight = Date.UTC(year, monthIndex, d);
  // Date.UTC rolls 31 Feb over into March; reject it instead.
  if (new Date(midnight).getUTCDate() !== d) return null;
  return midnight + ((hh * 60 + mm) * 60 + ss) * 1000;
}
