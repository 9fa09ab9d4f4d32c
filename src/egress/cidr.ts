// IP addresses and CIDR blocks as numbers, so "is this address in that block" is one mask and one
// comparison, for IPv4 and IPv6 alike. Pure and strict: the egress policy (policy.ts) decides with
// it at validation, at connect time and in loadConfig, and a parser that guessed (octal "010",
// zone ids, host bits after the prefix) would make a deny list mean something else than it says.
//
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address a.b.c.d: a socket connected
// to it reaches a.b.c.d, so addresses and blocks inside ::ffff:0:0/96 are turned into IPv4 ones.

export type IpFamily = 4 | 6;

export interface Ip {
  readonly family: IpFamily;
  /** 32 bits for IPv4, 128 for IPv6. */
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The first address of the block; no bits are set after the prefix. */
  readonly network: bigint;
  readonly prefix: number;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string };
export type CidrListParse = { ok: true; cidrs: Cidr[] } | { ok: false; reason: string };

/** Thrown by `cidr()` / `cidrs()`, which are for literals in code and tests. */
export class CidrSyntaxError extends Error {
  override name = 'CidrSyntaxError';
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };
const MAPPED_PREFIX = 0xffffn; // ::ffff:0:0/96, bits 32..47 set, 48..127 clear

/** Dotted decimal only: four parts 0..255, no leading zeros (no octal or hex guessing). */
function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6Groups(text: string, v4AtEnd: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (v4AtEnd && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** RFC 4291 text forms, `::` and a trailing dotted quad included; no brackets, no zone id. */
function parseIpv6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const gap = text.indexOf('::');
  let groups: number[];
  if (gap === -1) {
    const all = parseIpv6Groups(text, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else {
    if (text.indexOf('::', gap + 1) !== -1) return null;
    const head = parseIpv6Groups(text.slice(0, gap), false);
    const tail = parseIpv6Groups(text.slice(gap + 2), true);
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** The address as written, without unmapping; null when `text` is not exactly one address. */
function parseRawIp(text: string): Ip | null {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === null ? null : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === null ? null : { family: 4, value };
}

/** ::ffff:a.b.c.d → a.b.c.d; any other address unchanged. */
export function unmapIp(ip: Ip): Ip {
  if (ip.family === 6 && ip.value >> 32n === MAPPED_PREFIX)
    return { family: 4, value: ip.value & 0xffffffffn };
  return ip;
}

/** An IPv4 or IPv6 address (IPv4-mapped IPv6 becomes IPv4); null for anything else. */
export function parseIp(text: string): Ip | null {
  const ip = parseRawIp(text);
  return ip === null ? null : unmapIp(ip);
}

/**
 * The address a URL's `hostname` names, or null when it is a name. WHATWG URL hostnames are
 * already canonical (`http://2130706433/` has hostname `127.0.0.1`); IPv6 comes in brackets.
 */
export function hostIp(hostname: string): Ip | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return parseIp(bare);
}

/** `a.b.c.d/n`, `v6/n`, or one address (a /32 or /128); see the module comment for ::ffff:. */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const ip = parseRawIp(addressText);
  if (ip === null) return { ok: false, reason: `'${text}' is not an IPv4 or IPv6 address or CIDR block` };
  const bits = BITS[ip.family];
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
      return { ok: false, reason: `'${text}' has a prefix length that is not a number from 0 to ${bits}` };
    }
    prefix = Number(prefixText);
  }
  const network = ip.value & mask(bits, prefix);
  if (network !== ip.value) {
    const suggestion = formatCidr({ family: ip.family, network, prefix });
    return { ok: false, reason: `'${text}' has bits set after the prefix; the block is ${suggestion}` };
  }
  if (ip.family === 6 && prefix >= 96 && network >> 32n === MAPPED_PREFIX) {
    return { ok: true, cidr: { family: 4, network: network & 0xffffffffn, prefix: prefix - 96 } };
  }
  return { ok: true, cidr: { family: ip.family, network, prefix } };
}

/** Comma-separated blocks; blanks around commas and empty items are ignored. */
export function parseCidrList(raw: string): CidrListParse {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const cidrs: Cidr[] = [];
  const problems: string[] = [];
  for (const item of items) {
    const parsed = parseCidr(item);
    if (parsed.ok) cidrs.push(parsed.cidr);
    else problems.push(parsed.reason);
  }
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, cidrs };
}

/** For literals in code and tests: the block, or a thrown CidrSyntaxError. */
export function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new CidrSyntaxError(parsed.reason);
  return parsed.cidr;
}

export function cidrs(...texts: string[]): Cidr[] {
  return texts.map(cidr);
}

/** The block holding exactly this address. */
export function hostCidr(ip: Ip): Cidr {
  const a = unmapIp(ip);
  return { family: a.family, network: a.value, prefix: BITS[a.family] };
}

export function cidrContains(block: Cidr, ip: Ip): boolean {
  const a = unmapIp(ip);
  if (a.family !== block.family) return false;
  return (a.value & mask(BITS[a.family], block.prefix)) === block.network;
}

function mask(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** Dotted decimal, or RFC 5952 IPv6 (lower case, the longest run of zero groups as `::`). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function formatCidr(block: Cidr): string {
  return `${formatIp({ family: block.family, value: block.network })}/${block.prefix}`;
}
