// The leader labels its own pod and unlabels it on release; a stale label from an earlier life of
// the pod is cleared at start-up; LABEL_POD=false never touches the pod. Pods are API objects
// only (no nodes here, they are never scheduled), which is all the labeler needs.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createElector, type ElectionConfig } from '../../src/election/create-elector.ts';
import { adminKubeConfig, createNamespace } from '../helpers/clients.ts';
import { TIMING, waitFor } from './helpers.ts';

const LABEL = 'leasecron.io/role';

describe('pod labeler', () => {
  it('labels the leader pod, removes the label on release, clears a stale one, and can be off', async () => {
    const ns = await createNamespace('labeler');
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    const pod = (name: string, labels: Record<string, string> = {}) =>
      core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name, labels: { app: 'leasecron', ...labels } },
          spec: { containers: [{ name: 'app', image: 'leasecron:test' }] },
        },
      });
    const labelsOf = async (name: string) =>
      (await core.readNamespacedPod({ name, namespace: ns })).metadata?.labels ?? {};
    await pod('leasecron-0');
    await pod('leasecron-1', { [LABEL]: 'leader' }); // left over from a previous container
    await pod('leasecron-2');

    const config = (podName: string, labelPod: boolean, leaseName = 'leasecron'): ElectionConfig => ({
      leaseName,
      ...TIMING,
      podName,
      podNamespace: ns,
      leaderLabel: LABEL,
      labelPod,
    });
    const first = createElector(config('leasecron-0', true), { kubeConfig: adminKubeConfig() });
    first.elector.start();
    await waitFor('leasecron-0 to lead', () => first.elector.isLeader);
    await waitFor('the leader label', async () => (await labelsOf('leasecron-0'))[LABEL] === 'leader');

    const second = createElector(config('leasecron-1', true), { kubeConfig: adminKubeConfig() });
    second.elector.start();
    await waitFor('the stale label to go', async () => (await labelsOf('leasecron-1'))[LABEL] === undefined);

    await first.elector.release();
    await first.labeler.idle();
    expect(await labelsOf('leasecron-0')).toEqual({ app: 'leasecron' });
    await waitFor('leasecron-1 to take over', () => second.elector.isLeader, 2_000);
    await waitFor('the label to follow', async () => (await labelsOf('leasecron-1'))[LABEL] === 'leader');
    await second.elector.release();
    await second.labeler.idle();
    expect(await labelsOf('leasecron-1')).toEqual({ app: 'leasecron' });

    const off = createElector(config('leasecron-2', false, 'other'), { kubeConfig: adminKubeConfig() });
    off.elector.start();
    await waitFor('leasecron-2 to lead', () => off.elector.isLeader);
    await off.labeler.idle();
    expect(await labelsOf('leasecron-2')).toEqual({ app: 'leasecron' });
    await off.elector.release();
  });
});
