import { describe, expect, it } from 'vitest';
import { validateScheduleInput } from './schema.ts';
import { decodeStoredSchedule, describeProblems } from './stored.ts';

const at = new Date('2026-11-23T10:00:00.000Z');

/** A document as the store writes it for a valid body. */
function storedDoc(body: Record<string, unknown> = {}): Record<string, unknown> {
  const r = validateScheduleInput({
    name: 'nightly',
    schedule: { every: '1h' },
    action: { type: 'log' },
    ...body,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return { ...r.value, _id: 'id-1', version: 3, createdAt: at, updatedAt: at, labelPairs: [] };
}

function problems(doc: unknown): Record<string, string> {
  const d = decodeStoredSchedule(doc);
  if (d.ok) throw new Error('expected an invalid document');
  return Object.fromEntries(d.errors.map((e) => [e.field, e.message]));
}

describe('decodeStoredSchedule', () => {
  it('decodes what the store writes: _id becomes id, labelPairs is dropped', () => {
    const d = decodeStoredSchedule(
      storedDoc({ namespace: 'team-a', labels: { team: 'a' }, description: 'x' }),
    );
    expect(d).toEqual({
      ok: true,
      schedule: {
        id: 'id-1',
        version: 3,
        name: 'nightly',
        namespace: 'team-a',
        schedule: { every: '1h' },
        action: { type: 'log' },
        paused: false,
        startAt: null,
        endAt: null,
        maxRuns: null,
        concurrency: 'forbid',
        misfire: { policy: 'fireOnce', graceSeconds: 300 },
        labels: { team: 'a' },
        description: 'x',
        createdAt: at,
        updatedAt: at,
      },
    });
  });

  it('reads a document from before namespaces as belonging to default, and refuses a bad namespace', () => {
    const legacy = decodeStoredSchedule(storedDoc({}));
    expect(legacy.ok && legacy.schedule.namespace).toBe('default');
    const bad = decodeStoredSchedule({ ...storedDoc({}), namespace: 'Not_A_Label' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors.map((e) => e.field)).toEqual(['namespace']);
  });

  it('applies the defaults a body gets to absent optional fields, and ignores unknown top-level fields', () => {
    const d = decodeStoredSchedule({
      _id: 'id-2',
      version: 1,
      name: 'minimal',
      schedule: { cron: '0 * * * *' },
      action: { type: 'http', url: 'http://x.svc/hook' },
      createdAt: at,
      updatedAt: at,
      addedByANewerVersion: true,
    });
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.schedule).toMatchObject({ paused: false, concurrency: 'forbid', maxRuns: null, labels: {} });
    expect(d.schedule.action).toMatchObject({ method: 'POST', timeoutMs: 10_000 });
    expect(d.schedule).not.toHaveProperty('addedByANewerVersion');
  });

  it('names every problem of the document from issue 10 ({ _id, name, version }), keeping id and version', () => {
    const d = decodeStoredSchedule({ _id: 'id-3', name: 'poison', version: 4 });
    expect(d).toMatchObject({ ok: false, id: 'id-3', version: 4 });
    expect(problems({ _id: 'id-3', name: 'poison', version: 4 })).toEqual({
      schedule: 'required',
      action: 'required',
      createdAt: 'required',
      updatedAt: 'required',
    });
  });

  it('checks what the API checks: cron, zone, duration, action, startAt before endAt', () => {
    expect(problems({ ...storedDoc(), schedule: { cron: 'not cron' } })['schedule.cron']).toMatch(
      /invalid cron/,
    );
    expect(problems({ ...storedDoc(), schedule: { cron: '0 * * * *', timezone: 'Mars/Olympus' } })).toEqual({
      'schedule.timezone': "unknown time zone 'Mars/Olympus'",
    });
    expect(Object.keys(problems({ ...storedDoc(), schedule: { every: '0s' } }))).toEqual(['schedule.every']);
    expect(Object.keys(problems({ ...storedDoc(), action: { type: 'teleport' } }))).toEqual(['action.type']);
    expect(problems({ ...storedDoc(), startAt: new Date(at.getTime() + 1), endAt: at })).toEqual({
      endAt: 'endAt must be after startAt',
    });
  });

  it('wants BSON dates for instants, a string id and a positive integer version', () => {
    expect(problems({ ...storedDoc(), createdAt: at.toISOString() })).toEqual({
      createdAt: 'expected a date',
    });
    expect(problems({ ...storedDoc(), startAt: '2026-11-23T10:00:00Z' })).toEqual({
      startAt: 'expected a date',
    });
    expect(problems({ ...storedDoc(), updatedAt: new Date(Number.NaN) })).toHaveProperty('updatedAt');
    expect(problems({ ...storedDoc(), version: 1.5 })).toHaveProperty('version');
    const numericId = decodeStoredSchedule({ ...storedDoc(), _id: 42 });
    expect(numericId).toMatchObject({ ok: false, id: '42', errors: [{ field: '_id' }] });
  });

  it('reports an unreadable version as null, and a non-document as such', () => {
    expect(decodeStoredSchedule({ ...storedDoc(), version: 'three' })).toMatchObject({
      ok: false,
      version: null,
    });
    expect(decodeStoredSchedule(null)).toEqual({
      ok: false,
      id: '',
      version: null,
      errors: [{ field: '', message: 'expected a document' }],
    });
  });
});

describe('describeProblems', () => {
  it('joins field and message, naming the document itself', () => {
    expect(
      describeProblems([
        { field: 'schedule', message: 'required' },
        { field: '', message: 'expected a document' },
      ]),
    ).toBe('schedule: required; (document): expected a document');
  });
});
