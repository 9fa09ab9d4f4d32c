import { describe, expect, it } from 'vitest';
import { cidrs, parseIp } from './cidr.ts';
import { checkEgress, createEgressPolicy, DEFAULT_EGRESS_POLICY, literalHostRefusal } from './policy.ts';

const verdictOf = (policy: typeof DEFAULT_EGRESS_POLICY, address: string) => {
  const ip = parseIp(address);
  if (ip === null) throw new Error(`not an address: ${address}`);
  return checkEgress(policy, ip);
};

describe('the built-in refusals', () => {
  it.each([
    ['127.0.0.1', 'loopback (127.0.0.0/8)'],
    ['127.1.2.3', 'loopback (127.0.0.0/8)'],
    ['::1', 'loopback (::1/128)'],
    ['169.254.169.254', 'link-local (169.254.0.0/16)'],
    ['169.254.0.1', 'link-local (169.254.0.0/16)'],
    ['fe80::a9fe:a9fe', 'link-local (fe80::/10)'],
    ['0.0.0.0', 'unspecified (0.0.0.0/8)'],
    ['0.1.2.3', 'unspecified (0.0.0.0/8)'],
    ['::', 'unspecified (::/128)'],
    ['fd00:ec2::254', 'cloud metadata (fd00:ec2::254/128)'],
    ['::ffff:169.254.169.254', 'link-local (169.254.0.0/16)'],
    ['::ffff:127.0.0.1', 'loopback (127.0.0.0/8)'],
  ])('refuse %s: %s', (address, what) => {
    expect(verdictOf(DEFAULT_EGRESS_POLICY, address)).toMatchObject({
      allowed: false,
      why: `${what}, refused unless HTTP_ALLOW_CIDRS allows it`,
    });
  });

  it('shows a mapped address as the IPv4 address it reaches', () => {
    expect(verdictOf(DEFAULT_EGRESS_POLICY, '::ffff:a9fe:a9fe')).toMatchObject({
      address: '169.254.169.254',
    });
  });

  it.each([
    '8.8.8.8',
    '10.0.0.1',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '1.0.0.0',
    '2001:db8::1',
    'fec0::1',
    'fd00:ec2::253',
    '::2',
    '::127.0.0.1',
  ])('allow %s', (address) => {
    expect(verdictOf(DEFAULT_EGRESS_POLICY, address)).toEqual({ allowed: true });
  });
});

describe('the API server', () => {
  it('is refused by its address, named as such', () => {
    const policy = createEgressPolicy({ apiServer: parseIp('10.96.0.1')! });
    expect(verdictOf(policy, '10.96.0.1')).toEqual({
      allowed: false,
      address: '10.96.0.1',
      why: 'the Kubernetes API server (10.96.0.1/32), refused unless HTTP_ALLOW_CIDRS allows it',
    });
    expect(verdictOf(policy, '10.96.0.2')).toEqual({ allowed: true });
    expect(verdictOf(policy, '127.0.0.1')).toMatchObject({ allowed: false });
  });

  it('takes its name over a built-in one, and an IPv6 address too', () => {
    expect(verdictOf(createEgressPolicy({ apiServer: parseIp('127.0.0.1')! }), '127.0.0.1')).toMatchObject({
      why: expect.stringMatching(/^the Kubernetes API server/),
    });
    expect(verdictOf(createEgressPolicy({ apiServer: parseIp('fd00::1')! }), 'fd00::1')).toMatchObject({
      allowed: false,
    });
  });
});

describe('precedence: HTTP_DENY_CIDRS, then HTTP_ALLOW_CIDRS, then the built-ins', () => {
  const policy = createEgressPolicy({
    allow: cidrs('127.0.0.0/8', '169.254.169.254/32', '10.96.0.1/32', '::1/128'),
    deny: cidrs('127.0.0.2/32', '10.0.0.0/8', '2001:db8::/32'),
    apiServer: parseIp('10.96.0.1')!,
  });

  it.each<[string, boolean]>([
    ['127.0.0.1', true], // allowed over the built-in loopback refusal
    ['127.0.0.2', false], // but deny beats allow
    ['169.254.169.254', true], // exactly what was allowed
    ['169.254.169.253', false], // and no more
    ['::ffff:169.254.169.254', true], // the mapped form is the same address
    ['::1', true],
    ['10.96.0.1', false], // allowed, but inside an explicit deny
    ['10.1.2.3', false], // explicit deny of an otherwise allowed address
    ['2001:db8::1', false],
    ['2001:db9::1', true],
    ['8.8.8.8', true],
  ])('%s allowed: %s', (address, allowed) => {
    expect(verdictOf(policy, address).allowed).toBe(allowed);
  });

  it('names the deny entry that refused', () => {
    expect(verdictOf(policy, '127.0.0.2')).toEqual({
      allowed: false,
      address: '127.0.0.2',
      why: 'in HTTP_DENY_CIDRS (127.0.0.2/32)',
    });
  });

  it('can refuse everything', () => {
    const none = createEgressPolicy({ deny: cidrs('0.0.0.0/0', '::/0') });
    expect(verdictOf(none, '8.8.8.8').allowed).toBe(false);
    expect(verdictOf(none, '2001:db8::1').allowed).toBe(false);
    expect(verdictOf(none, '::ffff:8.8.8.8').allowed).toBe(false);
  });
});

describe('literalHostRefusal: the check at validation', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is link-local (169.254.0.0/16)'],
    ['http://127.0.0.1:9999/hook', '127.0.0.1 is loopback (127.0.0.0/8)'],
    ['https://[::1]/', '::1 is loopback (::1/128)'],
    ['http://[::ffff:169.254.169.254]/', '169.254.169.254 is link-local (169.254.0.0/16)'],
    ['http://2130706433/', '127.0.0.1 is loopback (127.0.0.0/8)'],
    ['http://0x7f.1/', '127.0.0.1 is loopback (127.0.0.0/8)'],
    ['http://169.254.169.254./', '169.254.169.254 is link-local (169.254.0.0/16)'],
    ['http://0.0.0.0:8080/', '0.0.0.0 is unspecified (0.0.0.0/8)'],
    ['http://[::]/', ':: is unspecified (::/128)'],
    ['http://[fe80::1]/', 'fe80::1 is link-local (fe80::/10)'],
    ['http://user:pw@127.0.0.1/', '127.0.0.1 is loopback (127.0.0.0/8)'],
  ])('%s', (url, why) => {
    expect(literalHostRefusal(url, DEFAULT_EGRESS_POLICY)).toBe(
      `${why}, refused unless HTTP_ALLOW_CIDRS allows it`,
    );
  });

  it.each([
    'http://reports.svc/run',
    'http://localhost/', // a name: judged after resolution, at connect time
    'http://10.0.0.1/',
    'http://[2001:db8::1]/',
    'not a url',
  ])('leaves %s alone', (url) => {
    expect(literalHostRefusal(url, DEFAULT_EGRESS_POLICY)).toBeNull();
  });

  it('follows the policy it is given', () => {
    const allowLoopback = createEgressPolicy({ allow: cidrs('127.0.0.1/32') });
    expect(literalHostRefusal('http://127.0.0.1:9999/hook', allowLoopback)).toBeNull();
    expect(literalHostRefusal('http://127.0.0.2:9999/hook', allowLoopback)).not.toBeNull();
  });
});
