import { describe, expect, it } from 'vitest';
import { decodeUtf8Json, depthExceeds, mediaType, unstorableStrings } from './body.ts';
import { ApiError } from './problem.ts';

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

describe('decodeUtf8Json', () => {
  const bytes = (...parts: (string | number[])[]) =>
    new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p)] : p)));
  const fieldsOf = (b: Uint8Array) => {
    try {
      decodeUtf8Json(b);
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      return (error as ApiError).errors.map((e) => e.field);
    }
    return 'accepted';
  };

  it('passes valid UTF-8 through, a real U+FFFD included', () => {
    expect(decodeUtf8Json(bytes('{"a":"\u00e9 \ufffd"}'))).toBe('{"a":"\u00e9 \ufffd"}');
    expect(decodeUtf8Json(bytes('{"a":"', [0xc3, 0xa9, 0xef, 0xbf, 0xbd], '"}'))).toBe('{"a":"é\ufffd"}');
  });

  it.each([
    ['a lone byte 0xff', bytes('{"name":"x","action":{"message":"', [0xff], '"}}'), ['action.message']],
    ['a truncated sequence', bytes('{"labels":{"t":"', [0xe2, 0x82], '"}}'), ['labels.t']],
    ['a UTF-16 surrogate', bytes('{"at":["', [0xed, 0xa0, 0x80], '"]}'), ['at.0']],
    ['an overlong encoding', bytes('{"a":"', [0xc0, 0xaf], '","b":"', [0xff], '"}'), ['a', 'b']],
    ['in a key', bytes('{"labels":{"', [0xff], '":"v"}}'), [`labels.\ufffd`]],
    ['in a body that is not JSON either', bytes('{', [0xff]), ['']],
  ])('refuses %s, naming the field', (_name, body, fields) => {
    expect(fieldsOf(body)).toEqual(fields);
  });
});

describe('unstorableStrings (valid JSON MongoDB cannot store as sent)', () => {
  it('names a key holding U+0000 (BSON field names end at NUL: it was a 500) and lone surrogates', () => {
    const body = JSON.parse(
      '{"action":{"template":{"spec":{"\\u0000":[1],"ok":"\\ud83d\\ude00","bad":"x\\udb6f"}}},"name":"\\ud800"}',
    );
    expect(unstorableStrings(body).map((u) => u.field)).toEqual([
      'action.template.spec.\u0000',
      'action.template.spec.bad',
      'name',
    ]);
  });

  it('passes well-formed text, emoji and NUL inside values', () => {
    expect(unstorableStrings({ a: 'x\u0000y', b: ['😀', { c: 'é' }], d: null, e: 1 })).toEqual([]);
  });
});
