// The leader labels its own pod and unlabels it on release; a stale label from an earlier life of
// the pod is cleared at start-up; LABEL_POD=false never touches the pod. Pods are API objects
// only (no nodes here, they are never scheduled), which is all the labeler needs.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createElector, type ElectionConfig } from '../../src/election/create-elector.ts';
import { PodLabeler } from '../../src/election/pod-labeler.ts';
import { adminKubeConfig, createNamespace, stack } from '../helpers/clients.ts';
import { TIMING, waitFor } from './helpers.ts';
import { startPartitionProxy } from './partition-proxy.ts';

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

  it('removes the label from an old leader even when the first removals fail (issue 10)', async () => {
    // Before: after three failed patches the labeler gave up, and the pod of a replica that no
    // longer leads kept leasecron.io/role=leader until it led again: `make failover` and
    // `kubectl get pods -l …` then found two "leaders", and deleted the wrong one.
    const ns = await createNamespace('labeler-retry');
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'leasecron-0', labels: { app: 'leasecron' } },
        spec: { containers: [{ name: 'app', image: 'leasecron:test' }] },
      },
    });
    const labelsOf = async () =>
      (await core.readNamespacedPod({ name: 'leasecron-0', namespace: ns })).metadata?.labels ?? {};
    const proxy = await startPartitionProxy(stack().kube.server);
    try {
      const viaProxy = new k8s.KubeConfig();
      viaProxy.loadFromOptions({
        clusters: [{ name: 'c', server: proxy.url, skipTLSVerify: true }],
        users: [{ name: 'u', token: stack().kube.token }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: ns }],
        currentContext: 'x',
      });
      const labeler = new PodLabeler({
        kubeConfig: viaProxy,
        namespace: ns,
        podName: 'leasecron-0',
        labelKey: LABEL,
        enabled: true,
        requestTimeoutMs: 500,
        retryDelayMs: 50,
      });
      labeler.setLeader(true);
      await waitFor('the leader label', async () => (await labelsOf())[LABEL] === 'leader');

      await proxy.refuse();
      labeler.setLeader(false);
      // Well past three attempts (50 ms apart, each refused at once).
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await labelsOf())[LABEL]).toBe('leader');
      await proxy.heal();
      await waitFor('the label to go', async () => (await labelsOf())[LABEL] === undefined, 10_000, 100);
      await labeler.idle();
    } finally {
      await proxy.close();
    }
  });
});
