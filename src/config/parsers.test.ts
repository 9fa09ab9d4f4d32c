import { describe, expect, it } from 'vitest';
import {
  isDns1123Label,
  isDns1123Subdomain,
  isLabelKey,
  parseBoolean,
  parseInteger,
  parseSecondsToMs,
  redactMongoUri,
} from './parsers.ts';

describe('parseInteger', () => {
  it.each([
    ['0', 0],
    ['007', 7],
    ['65535', 65535],
  ])('accepts %j', (raw, value) => {
    expect(parseInteger(raw, 0, 65535)).toEqual({ ok: true, value });
  });

  it.each(['', '12abc', '1e3', '0x10', '+1', '-1', '1.0', ' 1', '65536', '99999999999999999999'])(
    'rejects %j',
    (raw) => {
      expect(parseInteger(raw, 0, 65535).ok).toBe(false);
    },
  );
});

describe('parseSecondsToMs', () => {
  it.each([
    ['2', 2000],
    ['1.5', 1500],
    ['0.5', 500],
    ['0.001', 1],
    ['0.0015', 2],
    ['86400', 86_400_000],
  ])('%j → %i ms', (raw, ms) => {
    expect(parseSecondsToMs(raw, 86_400)).toEqual({ ok: true, value: ms });
  });

  it.each(['', '0', '0.0004', '.5', '5.', '-1', '1e3', '2s', 'Infinity', 'NaN', '86400.001'])(
    'rejects %j',
    (raw) => {
      expect(parseSecondsToMs(raw, 86_400).ok).toBe(false);
    },
  );
});

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('%j → %s', (raw, value) => {
    expect(parseBoolean(raw)).toEqual({ ok: true, value });
  });

  it.each(['yes', 'no', 'TRUE', 'False', 'on', ' true'])('rejects %j', (raw) => {
    expect(parseBoolean(raw).ok).toBe(false);
  });
});

describe('Kubernetes names', () => {
  it.each([
    ['default', true],
    ['a', true],
    ['team-a1', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['Team', false],
    ['-a', false],
    ['a-', false],
    ['a.b', false],
  ])('isDns1123Label(%j) = %s', (s, expected) => {
    expect(isDns1123Label(s)).toBe(expected);
  });

  it.each([
    ['leasecron-leader', true],
    ['a.b-c.d', true],
    ['', false],
    ['a..b', false],
    ['.a', false],
    ['A.b', false],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, false],
  ])('isDns1123Subdomain(%j) = %s', (s, expected) => {
    expect(isDns1123Subdomain(s)).toBe(expected);
  });

  it.each([
    ['leasecron.io/role', true],
    ['role', true],
    ['app.kubernetes.io/Name_1.x', true],
    ['leasecron.io/', false],
    ['/role', false],
    ['a/b/c', false],
    ['-role', false],
    [`x/${'a'.repeat(64)}`, false],
  ])('isLabelKey(%j) = %s', (s, expected) => {
    expect(isLabelKey(s)).toBe(expected);
  });
});

describe('redactMongoUri', () => {
  it.each([
    ['mongodb://u:p@h/db', 'mongodb://***@h/db'],
    ['mongodb+srv://u:p@@x@h/', 'mongodb+srv://***@h/'],
    ['mongodb://h:27017/', 'mongodb://h:27017/'],
  ])('%s → %s', (raw, shown) => {
    expect(redactMongoUri(raw)).toBe(shown);
  });
});
