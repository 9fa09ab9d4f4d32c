import { describe, expect, it } from 'vitest';
import { inputOf } from './main.ts';
import { findByName, looksLikeId, schedulePath, schedulesPath } from './resolve.ts';

describe('name or id', () => {
  it.each([
    ['3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a10', true],
    ['3F1C1C6E-8F3A-4B8E-9D2A-0C1F5E7B9A10', true],
    ['nightly-report', false],
    ['3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a1', false],
    ['', false],
  ])('looksLikeId(%s) = %s', (ref, id) => {
    expect(looksLikeId(ref)).toBe(id);
  });

  it('findByName matches the whole name exactly', () => {
    const items = [{ name: 'nightly' }, { name: 'nightly-report' }];
    expect(findByName(items, 'nightly-report')).toBe(items[1]);
    expect(findByName(items, 'night')).toBeUndefined();
    expect(findByName(items, 'Nightly')).toBeUndefined();
  });

  it('paths: names resolve in a namespace, ids are global', () => {
    expect(schedulesPath('team-a')).toBe('/api/v1/namespaces/team-a/schedules');
    expect(schedulePath('3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a10')).toBe(
      '/api/v1/schedules/3f1c1c6e-8f3a-4b8e-9d2a-0c1f5e7b9a10',
    );
  });

  it('inputOf drops the server fields a `get -o yaml` carries, so it can be applied back', () => {
    expect(
      inputOf({
        id: 'x',
        version: 2,
        createdAt: 'c',
        updatedAt: 'u',
        nextRunAt: null,
        source: {},
        name: 'n',
        paused: true,
      }),
    ).toEqual({ name: 'n', paused: true });
  });
});
