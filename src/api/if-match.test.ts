import { describe, expect, it } from 'vitest';
import { parseIfMatch } from './if-match.ts';
import { ApiError } from './problem.ts';

describe('parseIfMatch', () => {
  it.each([
    [undefined, undefined],
    ['*', undefined],
    ['"3"', 3],
    ['3', 3],
    ['W/"3"', 3],
    [' "42" ', 42],
    ['"9007199254740991"', 9007199254740991],
  ])('%j → %j', (header, version) => {
    expect(parseIfMatch(header)).toBe(version);
  });

  it.each([
    '',
    '""',
    '"0"',
    '0',
    '-1',
    '"03"',
    'W/3',
    'w/"3"',
    '"3',
    '3"',
    '"abc"',
    '"3", "4"',
    '1.5',
    '"99999999999999999"',
    'W/"x"',
  ])('%j is a 400 naming If-Match', (header) => {
    try {
      parseIfMatch(header);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).errors[0]?.field).toBe('If-Match');
    }
  });
});
