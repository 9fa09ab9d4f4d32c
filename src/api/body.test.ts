import { describe, expect, it } from 'vitest';
import { depthExceeds, mediaType } from './body.ts';

describe('mediaType', () => {
  it.each([
    ['application/json', { type: 'application/json', charset: null }],
    ['Application/JSON; charset=UTF-8', { type: 'application/json', charset: 'utf-8' }],
    [
      'application/merge-patch+json;charset="utf-8"',
      { type: 'application/merge-patch+json', charset: 'utf-8' },
    ],
    [undefined, null],
    ['', null],
    ['json', null],
  ])('%j → %j', (header, expected) => {
    expect(mediaType(header)).toEqual(expected);
  });
});

describe('depthExceeds', () => {
  const nest = (n: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
    return v;
  };
  it('counts object and array levels', () => {
    expect(depthExceeds(1, 0)).toBe(false);
    expect(depthExceeds(nest(3), 3)).toBe(false);
    expect(depthExceeds(nest(4), 3)).toBe(true);
  });
  it('does not overflow the stack on hostile depth', () => {
    expect(depthExceeds(nest(200_000), 64)).toBe(true);
  });
});
