// Events on the real API server: a repeat within client-go's 6-minute window is counted in the
// first Event's series, not created again; a different note is an Event of its own.
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/crd/events.ts';
import { adminKubeConfig, createNamespace } from '../helpers/clients.ts';

describe('EventRecorder', () => {
  it('deduplicates like client-go: one Event with a series for repeats', async () => {
    const ns = await createNamespace('events');
    const api = adminKubeConfig().makeApiClient(k8s.EventsV1Api);
    const recorder = new EventRecorder({
      events: api,
      controller: 'leasecron.io/scheduler',
      instance: 'pod-0',
      logger: pino({ level: 'silent' }),
    });
    const target = {
      apiVersion: 'leasecron.io/v1alpha1',
      kind: 'Schedule',
      namespace: ns,
      name: 'nightly',
      uid: 'u-1',
    };
    const missed = {
      type: 'Warning',
      reason: 'Missed',
      action: 'Fire',
      note: '1 occurrence not run: x',
    } as const;
    for (let i = 0; i < 3; i++) recorder.record(target, missed);
    recorder.record(target, { ...missed, note: '2 occurrences not run: x' });
    await recorder.flush();
    const events = (await api.listNamespacedEvent({ namespace: ns })).items;
    expect(events).toHaveLength(2);
    const repeated = events.find((e) => e.note === missed.note)!;
    expect(repeated).toMatchObject({
      reason: 'Missed',
      type: 'Warning',
      action: 'Fire',
      reportingController: 'leasecron.io/scheduler',
      reportingInstance: 'pod-0',
      regarding: { kind: 'Schedule', name: 'nightly', uid: 'u-1', namespace: ns },
      series: { count: 3 },
    });
    expect(events.find((e) => e.note !== missed.note)?.series).toBeUndefined();
  });
});
