import { describe, expect, it } from 'vitest';
import {
  condition,
  describeObjectErrors,
  mapScheduleObject,
  objectPath,
  type ScheduleObject,
  sameStatus,
  toRestBody,
} from './schedule-object.ts';

const meta = { name: 'nightly', namespace: 'team-a', uid: 'u-1', generation: 3 };
const obj = (spec: Record<string, unknown>, labels?: Record<string, string>): ScheduleObject => ({
  metadata: { ...meta, ...(labels ? { labels } : {}) },
  spec,
});

describe('mapScheduleObject', () => {
  it('maps CronJob-like fields onto the REST schedule, defaults applied by the shared schema', () => {
    const m = mapScheduleObject(
      obj(
        {
          schedule: '0 2 * * *',
          timeZone: 'Europe/Berlin',
          suspend: true,
          concurrencyPolicy: 'Replace',
          misfirePolicy: 'FireAll',
          startingDeadlineSeconds: 60,
          maxRuns: 5,
          description: 'd',
          log: { message: 'hi' },
        },
        { team: 'a' },
      ),
    );
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.input).toMatchObject({
      name: 'nightly',
      namespace: 'team-a',
      schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin' },
      action: { type: 'log', message: 'hi' },
      paused: true,
      concurrency: 'replace',
      misfire: { policy: 'fireAll', graceSeconds: 60 },
      maxRuns: 5,
      labels: { team: 'a' },
      description: 'd',
    });
    expect(m.source).toEqual({
      kind: 'Schedule',
      apiVersion: 'leasecron.io/v1alpha1',
      namespace: 'team-a',
      name: 'nightly',
      uid: 'u-1',
      generation: 3,
    });
  });

  it('reads @every as an interval and `at` as one-shot instants; defaults like the REST API', () => {
    const every = mapScheduleObject(obj({ schedule: '@every 30s', log: {} }));
    expect(every.ok && every.input.schedule).toEqual({ every: '30s' });
    expect(every.ok && every.input).toMatchObject({
      concurrency: 'forbid',
      misfire: { policy: 'fireOnce', graceSeconds: 300 },
    });
    const at = mapScheduleObject(obj({ at: ['2026-12-02T10:00:00+01:00'], log: {} }));
    expect(at.ok && at.input.schedule).toEqual({ at: ['2026-12-02T09:00:00.000Z'] });
  });

  it('maps a jobTemplate to a kubernetesJob action', () => {
    const m = mapScheduleObject(obj({ schedule: '* * * * *', jobTemplate: { spec: { template: {} } } }));
    expect(m.ok && m.input.action).toMatchObject({
      type: 'kubernetesJob',
      template: { spec: { template: {} } },
    });
  });

  it('names every problem by the path the user wrote, in one report', () => {
    const m = mapScheduleObject(
      obj({
        schedule: '61 * * * *',
        timeZone: 'Mars/Olympus',
        concurrencyPolicy: 'Sometimes',
        http: { url: 'ftp://x' },
      }),
    );
    expect(m.ok).toBe(false);
    if (m.ok) return;
    const fields = m.errors.map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(['spec.schedule', 'spec.timeZone', 'spec.concurrencyPolicy', 'spec.http.url']),
    );
    expect(describeObjectErrors(m.errors)).toMatch(/spec\.schedule: invalid cron expression/);
  });

  it('refuses what only CEL would otherwise catch, for clusters without the CRD rules', () => {
    const both = mapScheduleObject(obj({ schedule: '* * * * *', at: ['2026-12-02T10:00:00Z'], log: {} }));
    expect(!both.ok && both.errors).toEqual([
      { field: 'spec.schedule', message: 'give exactly one of spec.schedule or spec.at' },
    ]);
    const none = mapScheduleObject(obj({ schedule: '* * * * *' }));
    expect(!none.ok && none.errors[0]?.message).toMatch(/exactly one action/);
    const two = mapScheduleObject(obj({ schedule: '* * * * *', log: {}, http: { url: 'http://a' } }));
    expect(!two.ok && two.errors[0]?.message).toMatch(/found spec\.http, spec\.log/);
    const zone = mapScheduleObject(obj({ schedule: '@every 1m', timeZone: 'UTC', log: {} }));
    expect(!zone.ok && zone.errors[0]).toMatchObject({ field: 'spec.timeZone' });
    const limits = mapScheduleObject(obj({ schedule: '@every 1m', successfulJobsHistoryLimit: 2, log: {} }));
    expect(!limits.ok && limits.errors[0]).toMatchObject({ field: 'spec.successfulJobsHistoryLimit' });
    const name = mapScheduleObject({
      metadata: { ...meta, name: 'a.b' },
      spec: { schedule: '@every 1m', log: {} },
    });
    expect(!name.ok && name.errors[0]).toMatchObject({ field: 'metadata.name' });
  });

  it('toRestBody leaves out what the object does not set', () => {
    expect(toRestBody(obj({ schedule: '@every 1m', log: {} })).body).toEqual({
      name: 'nightly',
      namespace: 'team-a',
      schedule: { every: '1m' },
      action: { type: 'log' },
      labels: {},
      misfire: {},
    });
  });
});

describe('objectPath', () => {
  it.each([
    ['schedule.cron', 'log', 'spec.schedule'],
    ['schedule.timezone', 'log', 'spec.timeZone'],
    ['schedule.at.2', 'log', 'spec.at.2'],
    ['action.url', 'http', 'spec.http.url'],
    ['action.template.spec', 'kubernetesJob', 'spec.jobTemplate.spec'],
    ['action.failedJobsHistoryLimit', 'kubernetesJob', 'spec.failedJobsHistoryLimit'],
    ['paused', 'log', 'spec.suspend'],
    ['misfire.graceSeconds', 'log', 'spec.startingDeadlineSeconds'],
    ['misfire.policy', 'log', 'spec.misfirePolicy'],
    ['labels.a', 'log', 'metadata.labels.a'],
    ['endAt', 'log', 'spec.endAt'],
  ])('%s (%s) → %s', (field, type, path) => expect(objectPath(field, type)).toBe(path));
});

describe('conditions and status', () => {
  const t0 = new Date('2026-12-01T10:00:00Z');
  const t1 = new Date('2026-12-01T11:00:00Z');
  it('moves lastTransitionTime only when the status changes', () => {
    const a = condition(undefined, { type: 'Ready', status: 'True', reason: 'Scheduled', message: 'x' }, t0);
    const b = condition([a], { type: 'Ready', status: 'True', reason: 'Suspended', message: 'y' }, t1);
    expect(b.lastTransitionTime).toBe(t0.toISOString());
    const c = condition([b], { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'z' }, t1);
    expect(c.lastTransitionTime).toBe(t1.toISOString());
  });
  it('sameStatus ignores how instants are spelled and the order of conditions', () => {
    const ready = condition(undefined, { type: 'Ready', status: 'True', reason: 'R', message: '' }, t0);
    const synced = condition(undefined, { type: 'Synced', status: 'True', reason: 'S', message: '' }, t0);
    const s = { observedGeneration: 1, nextRunAt: '2026-12-01T10:00:00.000Z', conditions: [ready, synced] };
    expect(sameStatus({ ...s, nextRunAt: '2026-12-01T10:00:00Z', conditions: [synced, ready] }, s)).toBe(
      true,
    );
    expect(sameStatus({ ...s, nextRunAt: '2026-12-01T10:00:01Z' }, s)).toBe(false);
    // as the API server returns it: keys sorted
    const sorted = (o: object) =>
      Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
    expect(sameStatus({ ...sorted(s), conditions: s.conditions.map(sorted) } as typeof s, s)).toBe(true);
    expect(sameStatus(undefined, s)).toBe(false);
  });
});
