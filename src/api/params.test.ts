import { describe, expect, it } from 'vitest';
import { parseId, parseListQuery, parsePageQuery } from './params.ts';
import { ApiError } from './problem.ts';

const field = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) return err.errors[0]?.field;
    throw err;
  }
  return undefined;
};

describe('parseId', () => {
  it('accepts UUIDs, lower-casing them', () => {
    expect(parseId('3F1C1C6E-8F3A-4B8E-9D2A-0C1F5E7B9A10')).toBe('3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a10');
  });
  it.each(['x', '', '3f1c1c6e8f3a4b8e9d2a0c1f5e7b9a10', '3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a1z', '../x'])(
    '%j is a 400 naming id',
    (raw) => expect(field(() => parseId(raw))).toBe('id'),
  );
});

describe('parseListQuery', () => {
  it('applies defaults and reads every filter', () => {
    expect(parseListQuery({})).toEqual({ limit: 50 });
    expect(
      parseListQuery({
        paused: ['false'],
        label: ['team=a', 'app.kubernetes.io/name=x'],
        limit: ['500'],
        cursor: ['abc'],
      }),
    ).toEqual({
      paused: false,
      labels: { team: 'a', 'app.kubernetes.io/name': 'x' },
      limit: 500,
      cursor: 'abc',
    });
    expect(parseListQuery({ label: ['team=a', 'team=a', 'empty='] }).labels).toEqual({
      team: 'a',
      empty: '',
    });
  });
  it.each([
    [{ paused: ['yes'] }, 'paused'],
    [{ paused: ['true', 'false'] }, 'paused'],
    [{ limit: ['0'] }, 'limit'],
    [{ limit: ['501'] }, 'limit'],
    [{ limit: ['1.5'] }, 'limit'],
    [{ limit: ['-1'] }, 'limit'],
    [{ limit: [''] }, 'limit'],
    [{ cursor: [''] }, 'cursor'],
    [{ cursor: ['a', 'b'] }, 'cursor'],
    [{ label: ['team'] }, 'label'],
    [{ label: ['=a'] }, 'label'],
    [{ label: ['team=a', 'team=b'] }, 'label'],
    [{ label: ['bad key!=a'] }, 'label'],
    [{ label: ['team=bad value'] }, 'label'],
    [{ labels: ['team=a'] }, 'labels'],
  ])('%j is a 400 naming %s', (query, name) => {
    expect(field(() => parseListQuery(query))).toBe(name);
  });
});

describe('parsePageQuery', () => {
  it('takes only limit and cursor', () => {
    expect(parsePageQuery({ limit: ['2'] })).toEqual({ limit: 2 });
    expect(field(() => parsePageQuery({ paused: ['true'] }))).toBe('paused');
  });
});
