// Strict parsers for single configuration values. Each returns a reason instead of throwing so
// the loader can collect every problem; each rejects what JavaScript would silently coerce
// (`Number('12abc')` is NaN, but `parseInt('12abc')` is 12 and `Number('')` is 0).

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = (reason: string): Parsed<never> => ({ ok: false, reason });

export function parseInteger(raw: string, min: number, max: number): Parsed<number> {
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    return fail(`must be an integer between ${min} and ${max}`);
  }
  return ok(value);
}

/** Seconds with optional decimals ("2", "1.5", "0.5") → whole milliseconds. */
export function parseSecondsToMs(raw: string, maxSeconds: number): Parsed<number> {
  const reason = `must be a number of seconds between 0.001 and ${maxSeconds} (decimals allowed, e.g. 0.5)`;
  if (!/^\d+(\.\d+)?$/.test(raw)) return fail(reason);
  const ms = Math.round(Number(raw) * 1000);
  return ms >= 1 && ms <= maxSeconds * 1000 ? ok(ms) : fail(reason);
}

// Only the spellings Kubernetes manifests and shells produce; "yes"/"on" are more often typos.
export function parseBoolean(raw: string): Parsed<boolean> {
  if (raw === 'true' || raw === '1') return ok(true);
  if (raw === 'false' || raw === '0') return ok(false);
  return fail('must be true, false, 1 or 0');
}

export function parseOneOf<T extends string>(raw: string, allowed: readonly T[]): Parsed<T> {
  return (allowed as readonly string[]).includes(raw)
    ? ok(raw as T)
    : fail(`must be one of ${allowed.join(', ')}`);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length >= 1 && s.length <= 253 && s.split('.').every((part) => DNS1123_LABEL.test(part));
}

/** A Kubernetes label key: `[prefix/]name`, prefix a DNS-1123 subdomain, name ≤ 63 chars. */
export function isLabelKey(s: string): boolean {
  const slash = s.indexOf('/');
  const prefix = slash === -1 ? undefined : s.slice(0, slash);
  const name = slash === -1 ? s : s.slice(slash + 1);
  if (prefix !== undefined && !isDns1123Subdomain(prefix)) return false;
  return name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name);
}

/** MongoDB's documented restrictions for database names on all platforms. */
export function parseMongoDbName(raw: string): Parsed<string> {
  if (/[/\\. "$*<>:|?\0]/.test(raw)) return fail('must not contain any of /\\. "$*<>:|?');
  if (Buffer.byteLength(raw, 'utf8') >= 64) return fail('must be shorter than 64 bytes');
  return ok(raw);
}

/**
 * Structural check of a MongoDB connection string, enough to fail fast on typos; the driver
 * still validates options when it connects. `new URL` cannot be used: it rejects host lists.
 */
export function parseMongoUri(raw: string): Parsed<string> {
  const scheme = /^(mongodb|mongodb\+srv):\/\//.exec(raw);
  if (scheme === null) return fail('must start with mongodb:// or mongodb+srv://');
  const { authority, rest } = splitAuthority(raw.slice(scheme[0].length));
  if (rest.startsWith('?')) return fail('must have a "/" between the hosts and the "?" options');
  const parts = authority.split('@');
  if (parts.length > 2) return fail('must percent-encode "@" in the user name or password');
  const hosts = (parts.length === 2 ? parts[1] : parts[0]) ?? '';
  const list = hosts.split(',');
  if (!list.every(isMongoHost)) return fail('must list hosts as host[:port][,host[:port]…]');
  if (scheme[1] === 'mongodb+srv' && (list.length !== 1 || /:\d+$/.test(hosts))) {
    return fail('must name exactly one host without a port when using mongodb+srv://');
  }
  return ok(raw);
}

/** `user:pass@host1,host2` and the `/db?options` after it, from what follows the scheme. */
function splitAuthority(afterScheme: string): { authority: string; rest: string } {
  const end = afterScheme.search(/[/?]/);
  return end === -1
    ? { authority: afterScheme, rest: '' }
    : { authority: afterScheme.slice(0, end), rest: afterScheme.slice(end) };
}

/** Whether a connection string carries `user[:password]@` before its hosts. */
export function mongoUriHasCredentials(raw: string): boolean {
  return splitAuthority(raw.replace(/^[a-z+]+:\/\//i, '')).authority.includes('@');
}

function isMongoHost(h: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s/?#@,:[\]]+)(?::(\d+))?$/.exec(h);
  if (m === null) return false;
  return m[2] === undefined || parseInteger(m[2], 1, 65535).ok;
}

/** Hide credentials before a connection string goes into an error message or a log line. */
export function redactMongoUri(raw: string): string {
  const scheme = /^[a-z+]+:\/\//i.exec(raw)?.[0] ?? '';
  const at = raw.lastIndexOf('@');
  return at < scheme.length ? raw : `${scheme}***${raw.slice(at)}`;
}
