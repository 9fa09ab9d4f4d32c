// K8sLeaseClient against the real kube-apiserver: 404 → null, optimistic concurrency mapped to
// LeaseConflictError, MicroTime on the wire as Kubernetes writes it, the single-Lease watch, and
// request deadlines.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { K8sLeaseClient } from '../../src/election/k8s-lease-client.ts';
import {
  LeaseConflictError,
  type LeaseSpec,
  LeaseUnavailableError,
  type LeaseWatchEvent,
} from '../../src/election/types.ts';
import { adminKubeConfig, createNamespace, stack, tokenKubeConfig, uniqueName } from '../helpers/clients.ts';
import { leaseClient, MICRO_TIME, rawLease, waitFor } from './helpers.ts';

let ns: string;
beforeAll(async () => {
  ns = await createNamespace('lease-client');
});

const spec = (holderIdentity: string, renewTime = new Date('2026-03-01T12:00:00.123Z')): LeaseSpec => ({
  holderIdentity,
  leaseDurationSeconds: 15,
  acquireTime: new Date('2026-03-01T11:00:00.000Z'),
  renewTime,
  leaseTransitions: 3,
  holderNonce: 'n',
});

describe('K8sLeaseClient', () => {
  it('get → null when absent; create; create again → conflict', async () => {
    const client = leaseClient(adminKubeConfig(), ns, uniqueName('l'));
    expect(await client.get()).toBeNull();
    const created = await client.create(spec('a'));
    expect(created).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 3,
      acquireTime: new Date('2026-03-01T11:00:00.000Z'),
      renewTime: new Date('2026-03-01T12:00:00.123Z'),
    });
    expect(created.resourceVersion).toMatch(/^\d+$/);
    expect(await client.get()).toEqual(created);
    await expect(client.create(spec('b'))).rejects.toBeInstanceOf(LeaseConflictError);
  });

  it('writes acquireTime/renewTime as MicroTime (six fractional digits), as kubectl and client-go expect', async () => {
    const name = uniqueName('l');
    await leaseClient(adminKubeConfig(), ns, name).create(spec('a'));
    const raw = await rawLease(ns, name);
    expect(raw.spec.renewTime).toBe('2026-03-01T12:00:00.123000Z');
    expect(raw.spec.acquireTime).toBe('2026-03-01T11:00:00.000000Z');
    expect(raw.spec.renewTime).toMatch(MICRO_TIME);
  });

  it('reads MicroTime with real microseconds (as Go writers send them) to the millisecond', async () => {
    const name = uniqueName('l');
    await adminKubeConfig()
      .makeApiClient(k8s.CoordinationV1Api)
      .createNamespacedLease({
        namespace: ns,
        body: {
          metadata: { name },
          // What a client-go holder writes; the cast bypasses client-node's Date typing.
          spec: {
            holderIdentity: 'go',
            renewTime: '2026-03-01T12:00:00.123456Z' as unknown as k8s.V1MicroTime,
          },
        },
      });
    const got = await leaseClient(adminKubeConfig(), ns, name).get();
    expect(got?.renewTime?.toISOString()).toBe('2026-03-01T12:00:00.123Z');
    expect(got).toMatchObject({ acquireTime: null, leaseDurationSeconds: null, leaseTransitions: null });
  });

  it('replace needs the current resourceVersion: stale → conflict, deleted → conflict; keeps labels', async () => {
    const name = uniqueName('l');
    const client = leaseClient(adminKubeConfig(), ns, name);
    const created = await client.create(spec('a'));
    const api = adminKubeConfig().makeApiClient(k8s.CoordinationV1Api);
    await api.patchNamespacedLease(
      { name, namespace: ns, body: { metadata: { labels: { team: 'x' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await expect(client.replace(spec('b'), created.resourceVersion)).rejects.toBeInstanceOf(
      LeaseConflictError,
    );

    const current = await client.get();
    const renewed = await client.replace(
      spec('b', new Date('2026-03-01T12:00:02Z')),
      current!.resourceVersion,
    );
    expect(renewed).toMatchObject({ holderIdentity: 'b', renewTime: new Date('2026-03-01T12:00:02Z') });
    expect((await rawLease(ns, name)).metadata.labels).toEqual({ team: 'x' });

    await api.deleteNamespacedLease({ name, namespace: ns });
    const gone = client.replace(spec('c'), renewed.resourceVersion);
    await expect(gone).rejects.toBeInstanceOf(LeaseConflictError);
  });

  it('watch delivers the current Lease, then changes and the deletion; abort resolves', async () => {
    const name = uniqueName('l');
    const client = leaseClient(adminKubeConfig(), ns, name);
    await client.create(spec('a'));
    // Another Lease in the namespace must not show up (fieldSelector on the name).
    await leaseClient(adminKubeConfig(), ns, uniqueName('other')).create(spec('noise'));

    const events: LeaseWatchEvent[] = [];
    const abort = new AbortController();
    const watching = client.watch((e) => events.push(e), { signal: abort.signal });
    await waitFor('initial upsert', () => events.length >= 1);
    const current = await client.get();
    await client.replace(spec('b'), current!.resourceVersion);
    await waitFor('modified', () => events.length >= 2);
    await adminKubeConfig()
      .makeApiClient(k8s.CoordinationV1Api)
      .deleteNamespacedLease({ name, namespace: ns });
    await waitFor('deleted', () => events.length >= 3);
    abort.abort();
    await expect(watching).resolves.toBeUndefined();

    expect(events.map((e) => (e.type === 'upsert' ? e.lease.holderIdentity : e.type))).toEqual([
      'a',
      'b',
      'deleted',
    ]);
  });

  it('watch from a resourceVersion delivers only later changes', async () => {
    const name = uniqueName('l');
    const client = leaseClient(adminKubeConfig(), ns, name);
    const created = await client.create(spec('a'));
    await client.replace(spec('b'), created.resourceVersion);
    const events: LeaseWatchEvent[] = [];
    const abort = new AbortController();
    const watching = client.watch((e) => events.push(e), {
      resourceVersion: created.resourceVersion,
      signal: abort.signal,
    });
    await waitFor('the change after created', () => events.length >= 1);
    abort.abort();
    await watching;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'upsert', lease: { holderIdentity: 'b' } });
  });

  it('every call is bounded: a request timeout or an aborted signal → LeaseUnavailableError', async () => {
    const slow = new K8sLeaseClient({
      kubeConfig: adminKubeConfig(),
      namespace: ns,
      name: 'x',
      requestTimeoutMs: 1,
    });
    const timedOut = await slow.get().catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(LeaseUnavailableError);
    expect((timedOut as LeaseUnavailableError).cause).toMatchObject({ name: 'TimeoutError' });

    const aborted = AbortSignal.abort(new Error('shutting down'));
    const client = leaseClient(adminKubeConfig(), ns, 'x');
    const error = await client.create(spec('a'), aborted).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseUnavailableError);
    expect((error as LeaseUnavailableError).cause).toEqual(new Error('shutting down'));
    await expect(client.watch(() => {}, { signal: aborted })).resolves.toBeUndefined();
  });

  it('watch rejects with the HTTP status when it cannot start (403 without RBAC)', async () => {
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'nobody' } } });
    const tr = await core.createNamespacedServiceAccountToken({
      name: 'nobody',
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const client = leaseClient(tokenKubeConfig(tr.status!.token!, ns), ns, 'x');
    const error = await client
      .watch(() => {}, { signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseUnavailableError);
    expect((error as LeaseUnavailableError).status).toBe(403);
    await expect(client.get()).rejects.toMatchObject({ name: 'LeaseUnavailableError', status: 403 });
  });
  it('watch resolves when the server ends it (timeoutSeconds), so the caller re-watches', async () => {
    const name = uniqueName('l');
    const client = new K8sLeaseClient({
      kubeConfig: adminKubeConfig(),
      namespace: ns,
      name,
      requestTimeoutMs: 1_500,
      watchTimeoutSeconds: 1,
    });
    const t = performance.now();
    await expect(client.watch(() => {}, { signal: new AbortController().signal })).resolves.toBeUndefined();
    expect(performance.now() - t).toBeGreaterThan(900);
  });

  // Issue 9: client-node 2's undici 8 offers h2, and kube-apiserver picks it. Node's HTTP/2 client
  // can then spin: a request whose body was ended but not yet flushed, aborted the way undici
  // aborts (close() with NO_ERROR, which waits for 'finish' before RST_STREAM, then destroy()),
  // leaves nghttp2 asking the destroyed stream for DATA; it answers 0 bytes without EOF, forever,
  // and the main thread writes empty DATA frames into memory until the process is killed.
  it('speaks HTTP/1.1 only (issue 9): requests and the watch never negotiate HTTP/2', async () => {
    const protocols: string[] = [];
    const onConnected = (message: unknown) => {
      const { socket } = message as { socket: { alpnProtocol?: string | false } };
      protocols.push(String(socket.alpnProtocol));
    };
    subscribe('undici:client:connected', onConnected);
    try {
      // A plain KubeConfig, as a caller may hand over: the client itself must not use HTTP/2.
      const plain = new k8s.KubeConfig();
      plain.loadFromFile(stack().kube.kubeconfig);
      const client = leaseClient(plain, ns, uniqueName('l'));
      const created = await client.create(spec('a'));
      await client.replace(spec('a'), created.resourceVersion);
      expect(await client.get()).not.toBeNull();
      const stop = new AbortController();
      await client.watch(() => stop.abort(), { signal: stop.signal });
    } finally {
      unsubscribe('undici:client:connected', onConnected);
    }
    expect(protocols.length).toBeGreaterThanOrEqual(4);
    expect(new Set(protocols)).toEqual(new Set(['http/1.1']));
  });
});
