import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { InvalidCursorError } from './errors.ts';

describe('cursor', () => {
  it('round-trips a key', () => {
    const key = { t: 1_790_000_000_123, id: '0b6f3c1e-2a44-4f5e-9d7e-2f7b1c3d4e5f' };
    expect(decodeCursor(encodeCursor(key))).toEqual(key);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['object instead of pair', Buffer.from('{"t":1,"id":"x"}').toString('base64url')],
    ['non-integer time', Buffer.from('[1.5,"x"]').toString('base64url')],
    ['empty id', Buffer.from('[1,""]').toString('base64url')],
    ['too long', 'A'.repeat(600)],
  ])('rejects %s', (_label, value) => {
    expect(() => decodeCursor(value)).toThrow(InvalidCursorError);
  });
});
