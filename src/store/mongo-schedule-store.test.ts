import { type ChangeStreamDocument, Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type ScheduleDoc, toChange } from './mongo-schedule-store.ts';

const at = new Date('2026-11-23T10:00:00.000Z');
const token = { _data: 'token-1' };

function insertOf(doc: Record<string, unknown>): ChangeStreamDocument<ScheduleDoc> {
  return {
    _id: token,
    operationType: 'insert',
    fullDocument: doc,
    documentKey: { _id: doc._id },
  } as unknown as ChangeStreamDocument<ScheduleDoc>;
}

describe('toChange', () => {
  it('decodes a valid document to an upsert', () => {
    const change = toChange(
      insertOf({
        _id: 'id-1',
        version: 1,
        name: 'ok',
        schedule: { every: '1s' },
        action: { type: 'log' },
        createdAt: at,
        updatedAt: at,
        labelPairs: [],
      }),
    );
    expect(change).toMatchObject({ kind: 'upsert', token, schedule: { id: 'id-1', version: 1 } });
    expect(change.kind === 'upsert' && 'labelPairs' in change.schedule).toBe(false);
  });

  it('turns a document that is not a schedule into an invalid change that names it, instead of throwing', () => {
    expect(toChange(insertOf({ _id: 'id-2', name: 'poison', version: 1 }))).toEqual({
      kind: 'invalid',
      id: 'id-2',
      version: 1,
      errors: [
        { field: 'schedule', message: 'required' },
        { field: 'action', message: 'required' },
        { field: 'createdAt', message: 'required' },
        { field: 'updatedAt', message: 'required' },
      ],
      token,
    });
  });

  it('carries when MongoDB committed the change: wallTime to the millisecond, else clusterTime seconds', () => {
    const doc = { _id: 'id-3', name: 'gone', version: 1 };
    const clusterTime = new Timestamp({ t: Math.floor(at.getTime() / 1000), i: 5 });
    const wallTime = new Date(at.getTime() + 123);
    const ev = (extra: object) =>
      ({ ...insertOf(doc), fullDocument: null, ...extra }) as unknown as ChangeStreamDocument<ScheduleDoc>;
    expect(toChange(ev({ clusterTime, wallTime }))).toEqual({ kind: 'noop', token, clusterTime: wallTime });
    expect(toChange(ev({ clusterTime }))).toEqual({ kind: 'noop', token, clusterTime: at });
    expect(toChange(ev({}))).toEqual({ kind: 'noop', token });
    expect('clusterTime' in toChange(ev({}))).toBe(false);
  });
});
