import { describe, expect, it } from 'vitest';
import type { Schedule } from '../schedule/schema.ts';
import { ScheduleIndex } from './schedule-index.ts';

function schedule(id: string, extra: Partial<Schedule> = {}): Schedule {
  return {
    id,
    name: `n-${id}`,
    namespace: 'default',
    version: 1,
    schedule: { every: '1m' },
    action: { type: 'log' },
    paused: false,
    startAt: null,
    endAt: null,
    maxRuns: null,
    concurrency: 'forbid',
    misfire: { policy: 'fireOnce', graceSeconds: 60 },
    labels: {},
    createdAt: new Date(1_000),
    updatedAt: new Date(1_000),
    ...extra,
  } as Schedule;
}

const ok = (s: Schedule) => ({ ok: true as const, schedule: s });
const ids = (p: { items: Schedule[] }) => p.items.map((s) => s.id);

describe('ScheduleIndex', () => {
  it('applies changes by version: a replayed or older version never overwrites a newer one', () => {
    const ix = new ScheduleIndex();
    expect(ix.put(ok(schedule('a', { version: 2, name: 'two' })))).toBe('changed');
    expect(ix.put(ok(schedule('a', { version: 1, name: 'one' })))).toBe('unchanged');
    expect(ix.put(ok(schedule('a', { version: 2, name: 'two-again' })))).toBe('unchanged');
    expect(ix.get('a')).toMatchObject({ ok: true, schedule: { name: 'two' } });
    expect(ix.put(ok(schedule('a', { version: 3, name: 'three' })))).toBe('changed');
    expect(ix.idByName('default', 'three')).toBe('a');
    expect(ix.idByName('default', 'two')).toBeUndefined();
  });

  it('keeps an invalid document as such, replaced by a newer valid version', () => {
    const ix = new ScheduleIndex();
    ix.put(ok(schedule('a', { version: 1 })));
    ix.put({ ok: false, id: 'a', version: 2, errors: [{ field: 'schedule', message: 'bad' }] });
    expect(ix.get('a')).toMatchObject({ ok: false, version: 2 });
    expect(ix.invalid).toBe(1);
    expect(ids(ix.list({ limit: 10 }))).toEqual([]);
    expect(ix.namespaces()).toEqual([]);
    ix.put(ok(schedule('a', { version: 3 })));
    expect(ix.invalid).toBe(0);
    expect(ids(ix.list({ limit: 10 }))).toEqual(['a']);
  });

  it('an invalid document with an unreadable version replaces what it overwrote', () => {
    const ix = new ScheduleIndex();
    ix.put(ok(schedule('a', { version: 4 })));
    // version 0 reads as "not newer" for a valid one; the engine keeps the running version
    expect(ix.put({ ok: false, id: 'a', version: null, errors: [] })).toBe('unchanged');
    ix.delete('a');
    expect(ix.put({ ok: false, id: 'a', version: null, errors: [] })).toBe('changed');
    expect(ix.put({ ok: false, id: 'a', version: null, errors: [] })).toBe('changed');
  });

  it('lists in (createdAt, id) order, pages with cursors across inserts and deletes, and filters', () => {
    const ix = new ScheduleIndex();
    for (let i = 0; i < 10; i++)
      ix.put(
        ok(
          schedule(`s${9 - i}`, {
            createdAt: new Date(1_000 + Math.floor(i / 2)),
            paused: i % 3 === 0,
            labels: i % 2 === 0 ? { team: 'a' } : { team: 'b' },
            namespace: i < 5 ? 'x' : 'y',
          }),
        ),
      );
    // same createdAt pairs are ordered by id
    expect(ids(ix.list({ limit: 100 }))).toEqual([
      's8',
      's9',
      's6',
      's7',
      's4',
      's5',
      's2',
      's3',
      's0',
      's1',
    ]);
    const first = ix.list({ limit: 3 });
    expect(ids(first)).toEqual(['s8', 's9', 's6']);
    ix.delete('s7'); // the next item after the cursor goes away meanwhile
    const second = ix.list({ limit: 3, cursor: first.nextCursor! });
    expect(ids(second)).toEqual(['s4', 's5', 's2']);
    const third = ix.list({ limit: 3, cursor: second.nextCursor! });
    expect(ids(third)).toEqual(['s3', 's0', 's1']);
    expect(third.nextCursor).toBeNull();
    expect(ids(ix.list({ limit: 100, paused: true }))).toEqual(['s9', 's6', 's3', 's0']);
    expect(ids(ix.list({ limit: 100, labels: { team: 'a' } }))).toEqual(['s9', 's5', 's3', 's1']);
    expect(ids(ix.list({ limit: 100, namespaces: ['y'] }))).toEqual(['s4', 's2', 's3', 's0', 's1']);
    expect(ix.namespaces()).toEqual(['x', 'y']);
  });

  it('a page that ends exactly at the last match has no cursor', () => {
    const ix = new ScheduleIndex();
    for (const id of ['a', 'b', 'c']) ix.put(ok(schedule(id)));
    expect(ix.list({ limit: 3 }).nextCursor).toBeNull();
    expect(ix.list({ limit: 2 }).nextCursor).not.toBeNull();
  });

  it('replaceAll (a reload) says which ids went away and rebuilds every index', () => {
    const ix = new ScheduleIndex();
    ix.put(ok(schedule('a')));
    ix.put(ok(schedule('b')));
    const gone = ix.replaceAll([ok(schedule('b', { version: 2, name: 'bee' })), ok(schedule('c'))]);
    expect(gone).toEqual(['a']);
    expect(ix.idByName('default', 'bee')).toBe('b');
    expect(ix.idByName('default', 'n-a')).toBeUndefined();
    expect(ids(ix.list({ limit: 10 }))).toEqual(['b', 'c']);
    expect([...ix.all()].map((e) => (e.ok ? e.schedule.id : e.id))).toEqual(['b', 'c']);
  });

  it('shares identical small sub-documents between schedules and keeps labels and description', () => {
    const ix = new ScheduleIndex();
    ix.put(ok(schedule('a', { description: 'hello', labels: { x: '1' } })));
    ix.put(ok(schedule('b')));
    const a = ix.get('a');
    const b = ix.get('b');
    if (!a?.ok || !b?.ok) throw new Error('expected valid');
    expect(a.schedule.schedule).toBe(b.schedule.schedule);
    expect(a.schedule.misfire).toBe(b.schedule.misfire);
    expect(a.schedule.description).toBe('hello');
    expect(a.schedule.labels).toEqual({ x: '1' });
  });

  it('load builds from a snapshot read in batches, in list order, invalid documents kept as such', async () => {
    async function* docs() {
      yield ok(schedule('b', { createdAt: new Date(3) }));
      yield { ok: false as const, id: 'x', version: 1, errors: [] };
      yield ok(schedule('a', { createdAt: new Date(5) }));
      yield ok(schedule('c', { createdAt: new Date(1) }));
    }
    const ix = await ScheduleIndex.load(docs());
    expect(ids(ix.list({ limit: 10 }))).toEqual(['c', 'b', 'a']);
    expect(ix.get('x')).toMatchObject({ ok: false });
    expect(ix.size).toBe(4);
    expect(ix.idByName('default', 'n-a')).toBe('a');
  });
});
