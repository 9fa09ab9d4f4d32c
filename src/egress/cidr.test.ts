import { describe, expect, it } from 'vitest';
import {
  CidrSyntaxError,
  cidr,
  cidrContains,
  formatCidr,
  formatIp,
  hostIp,
  type Ip,
  parseCidr,
  parseCidrList,
  parseIp,
} from './cidr.ts';

const ip = (text: string): Ip => {
  const parsed = parseIp(text);
  if (parsed === null) throw new Error(`not an address: ${text}`);
  return parsed;
};
const show = (text: string) => formatIp(ip(text));

describe('parseIp: IPv4', () => {
  it.each([
    ['0.0.0.0', 0n],
    ['127.0.0.1', 0x7f000001n],
    ['169.254.169.254', 0xa9fea9fen],
    ['255.255.255.255', 0xffffffffn],
    ['10.96.0.1', 0x0a600001n],
  ])('%s', (text, value) => {
    expect(parseIp(text)).toEqual({ family: 4, value });
  });

  it.each([
    '',
    '1',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '1.2.3.-1',
    '01.2.3.4', // octal to inet_aton, decimal to others: refused rather than guessed
    '1.2.3.04',
    '0x7f.0.0.1',
    '2130706433', // one number: what inet_aton reads as 127.0.0.1
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.4.',
    '1..3.4',
    '1.2.3.4/32',
    'localhost',
    '１.2.3.4', // full-width digit
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });
});

describe('parseIp: IPv6', () => {
  it.each([
    ['::', 0n],
    ['::1', 1n],
    ['1::', 1n << 112n],
    ['fe80::1', (0xfe80n << 112n) | 1n],
    ['FE80::ABCD', (0xfe80n << 112n) | 0xabcdn],
    ['2001:db8:0:0:0:0:0:1', (0x20010db8n << 96n) | 1n],
    ['2001:db8::1', (0x20010db8n << 96n) | 1n],
    ['1:2:3:4:5:6:7:8', 0x00010002000300040005000600070008n],
    ['1:2:3:4:5:6:7::', 0x00010002000300040005000600070000n],
    ['::2:3:4:5:6:7:8', 0x00000002000300040005000600070008n],
    ['0:0:0:0:0:0:0:0', 0n],
    ['::1.2.3.4', 0x01020304n], // IPv4-compatible (deprecated): an IPv6 address, not mapped
    ['64:ff9b::1.2.3.4', (0x64ff9bn << 96n) | 0x01020304n],
    ['fd00:ec2::254', (0xfd000ec2n << 96n) | 0x254n],
  ])('%s', (text, value) => {
    expect(parseIp(text)).toEqual({ family: 6, value });
  });

  it.each([
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    ':1::',
    '::1:',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '12345::',
    'g::1',
    '::ffff:1.2.3',
    '::ffff:256.1.1.1',
    '1.2.3.4::',
    '::1.2.3.4:5',
    '[::1]',
    'fe80::1%eth0',
    ' ::1',
    '::1/128',
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });
});

describe('IPv4-mapped IPv6 is the IPv4 address', () => {
  it.each([
    ['::ffff:169.254.169.254', '169.254.169.254'],
    ['::ffff:a9fe:a9fe', '169.254.169.254'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1'],
    ['::ffff:0.0.0.0', '0.0.0.0'],
  ])('%s → %s', (text, v4) => {
    expect(parseIp(text)).toEqual(parseIp(v4));
  });

  it('only ::ffff:0:0/96 is mapped; ::fffe:… and ::1:ffff:… stay IPv6', () => {
    expect(parseIp('::fffe:7f00:1')?.family).toBe(6);
    expect(parseIp('::1:ffff:7f00:1')?.family).toBe(6);
    expect(parseIp('::7f00:1')?.family).toBe(6);
  });
});

describe('hostIp: URL hostnames', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]', '::1'],
    ['[::ffff:a9fe:a9fe]', '169.254.169.254'],
  ])('%s is %s', (hostname, address) => {
    expect(hostIp(hostname)).toEqual(parseIp(address));
  });

  it.each(['localhost', 'metadata.google.internal', '[::1', '::1]', ''])(
    '%j is not an address',
    (hostname) => {
      expect(hostIp(hostname)).toBeNull();
    },
  );

  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://169.254.169.254./', '169.254.169.254'],
    ['http://[::ffff:169.254.169.254]/', '169.254.169.254'],
    ['http://[0:0::1]:80/', '::1'],
    ['http://0.0.0.0/', '0.0.0.0'],
  ])('the WHATWG URL parser canonicalises %s to %s first', (url, address) => {
    expect(hostIp(new URL(url).hostname)).toEqual(parseIp(address));
  });
});

describe('formatIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not shortened
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], // the longest run
    ['fe80:0000:0000:0000:0000:0000:0000:00ff', 'fe80::ff'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
  ])('%s → %s', (text, shown) => {
    expect(show(text)).toBe(shown);
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['127.0.0.1/32', '127.0.0.1/32'],
    ['127.0.0.1', '127.0.0.1/32'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    ['fe80::/10', 'fe80::/10'],
    ['FD00::/8', 'fd00::/8'],
    ['::ffff:169.254.0.0/112', '169.254.0.0/16'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
    ['::ffff:7f00:1/128', '127.0.0.1/32'],
    ['::fffe:0:0/95', '::fffe:0:0/95'], // holds the mapped block, but stays IPv6 (see cidrContains)
  ])('%s is %s', (text, block) => {
    const parsed = parseCidr(text);
    expect(parsed.ok && formatCidr(parsed.cidr)).toBe(block);
  });

  it.each([
    ['', 'is not an IPv4 or IPv6 address or CIDR block'],
    ['/8', 'is not an IPv4 or IPv6 address or CIDR block'],
    ['10.0.0.0/', 'has a prefix length that is not a number from 0 to 32'],
    ['10.0.0.0/33', 'has a prefix length that is not a number from 0 to 32'],
    ['10.0.0.0/-1', 'has a prefix length that is not a number from 0 to 32'],
    ['10.0.0.0/08', 'has a prefix length that is not a number from 0 to 32'],
    ['10.0.0.0/8/8', 'has a prefix length that is not a number from 0 to 32'],
    ['10.0.0.0/ 8', 'has a prefix length that is not a number from 0 to 32'],
    ['::/129', 'has a prefix length that is not a number from 0 to 128'],
    ['10.0.0.1/8', 'has bits set after the prefix; the block is 10.0.0.0/8'],
    ['169.254.169.254/16', 'has bits set after the prefix; the block is 169.254.0.0/16'],
    ['fe80::1/10', 'has bits set after the prefix; the block is fe80::/10'],
    ['localhost/32', 'is not an IPv4 or IPv6 address or CIDR block'],
    ['10.0.0.0-10.0.0.255', 'is not an IPv4 or IPv6 address or CIDR block'],
    ['fe80::/10%eth0', 'has a prefix length that is not a number from 0 to 128'],
  ])('refuses %j: %s', (text, reason) => {
    expect(parseCidr(text)).toEqual({ ok: false, reason: `'${text}' ${reason}` });
  });

  it('cidr() throws CidrSyntaxError for literals that are wrong', () => {
    expect(() => cidr('10.0.0.0/33')).toThrow(CidrSyntaxError);
  });
});

describe('parseCidrList', () => {
  it('splits on commas, trims, skips empty items', () => {
    const parsed = parseCidrList(' 10.0.0.0/8 ,, fd00::/8,');
    expect(parsed.ok && parsed.cidrs.map(formatCidr)).toEqual(['10.0.0.0/8', 'fd00::/8']);
  });

  it('an empty or blank list is no blocks', () => {
    expect(parseCidrList('')).toEqual({ ok: true, cidrs: [] });
    expect(parseCidrList(' , ')).toEqual({ ok: true, cidrs: [] });
  });

  it('names every bad entry', () => {
    expect(parseCidrList('10.0.0.0/8,a,::/200')).toEqual({
      ok: false,
      reason:
        "'a' is not an IPv4 or IPv6 address or CIDR block; '::/200' has a prefix length that is not a number from 0 to 128",
    });
  });

  it('refuses other separators rather than reading them as one odd entry', () => {
    expect(parseCidrList('10.0.0.0/8 10.1.0.0/16').ok).toBe(false);
    expect(parseCidrList('10.0.0.0/8;10.1.0.0/16').ok).toBe(false);
  });
});

describe('cidrContains', () => {
  it.each<[string, string, boolean]>([
    ['127.0.0.0/8', '127.0.0.1', true],
    ['127.0.0.0/8', '127.255.255.255', true],
    ['127.0.0.0/8', '128.0.0.0', false],
    ['127.0.0.0/8', '126.255.255.255', false],
    ['169.254.0.0/16', '169.254.169.254', true],
    ['169.254.0.0/16', '169.255.0.0', false],
    ['10.96.0.1/32', '10.96.0.1', true],
    ['10.96.0.1/32', '10.96.0.2', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['0.0.0.0/0', '::1', false], // families do not mix
    ['::/0', '1.2.3.4', false],
    ['::/0', '::ffff:1.2.3.4', false], // a mapped address is IPv4
    ['::/0', 'fe80::1', true],
    ['::1/128', '::1', true],
    ['::1/128', '::2', false],
    ['fe80::/10', 'fe80::1', true],
    ['fe80::/10', 'febf:ffff::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['169.254.0.0/16', '::ffff:169.254.169.254', true],
    ['169.254.0.0/16', '::ffff:a9fe:a9fe', true],
    ['127.0.0.0/8', '::127.0.0.1', false], // IPv4-compatible is not IPv4
    ['::ffff:127.0.0.0/104', '127.0.0.1', true],
  ])('%s contains %s: %s', (block, address, expected) => {
    expect(cidrContains(cidr(block), ip(address))).toBe(expected);
  });

  it('matches an unmapped address given as raw IPv6 too', () => {
    // An address built by hand (not through parseIp) in ::ffff:0:0/96 still counts as IPv4.
    const raw: Ip = { family: 6, value: (0xffffn << 32n) | 0x7f000001n };
    expect(cidrContains(cidr('127.0.0.0/8'), raw)).toBe(true);
  });
});
