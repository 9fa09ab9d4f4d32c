// ListWatch (src/kube/list-watch.ts) against the real API server, on ConfigMaps (and Events, for
// a real 410): what the Schedule controller and the JobTracker rely on. The list is handed to onSync, then events in
// the order they happened, one handler at a time; a watch the server ends is resumed without a
// list; a 410 Gone and relist() list again.
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Listed, ListWatch, type WatchEventType } from '../../src/kube/list-watch.ts';
import { adminKubeConfig, createNamespace, stack } from '../helpers/clients.ts';
import { until } from '../helpers/until.ts';

const LABEL = 'leasecron.io/list-watch-test';

let ns: string;
let core: k8s.CoreV1Api;
type Obj = k8s.V1ConfigMap | k8s.CoreV1Event;
let watches: ListWatch<Obj>[] = [];

beforeEach(async () => {
  ns = await createNamespace('listwatch');
  core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
});
afterEach(async () => {
  await Promise.all(watches.map((w) => w.stop()));
  watches = [];
  await core.deleteNamespace({ name: ns });
});

const put = (name: string, v: string) =>
  core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name, labels: { [LABEL]: 'yes' } }, data: { v } },
  });
const set = (name: string, v: string) =>
  core.replaceNamespacedConfigMap({
    name,
    namespace: ns,
    body: { metadata: { name, labels: { [LABEL]: 'yes' } }, data: { v } },
  });
const remove = (name: string) => core.deleteNamespacedConfigMap({ name, namespace: ns });
/** An Event named `name` whose message is `v` */
const note = (name: string, v: string) =>
  core.createNamespacedEvent({
    namespace: ns,
    body: {
      metadata: { name, labels: { [LABEL]: 'yes' } },
      involvedObject: { kind: 'ConfigMap', namespace: ns, name: 'x' },
      reason: 'Test',
      message: v,
    },
  });
const show = (o: Obj) => `${o.metadata?.name}=${'data' in o ? o.data?.v : (o as k8s.CoreV1Event).message}`;

/**
 * Compacts etcd's history up to now, as kube-apiserver does every 5 minutes: a watch from an older
 * resourceVersion cannot be served any more.
 */
async function compactEtcd(): Promise<void> {
  const etcd = stack().kube.etcd;
  const post = async (path: string, body: object) => {
    const res = await fetch(`${etcd}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { header: { revision: string } };
  };
  // Any read answers with the current revision.
  const { header } = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
  await post('/v3/kv/compaction', { revision: header.revision, physical: true });
}

/** A ListWatch of the labelled ConfigMaps (or Events) in `ns` that writes down what it is told. */
function follow(
  options: {
    resource?: 'configmaps' | 'events';
    watchTimeoutSeconds?: number;
    /** stands in for the list's resourceVersion (e.g. one too old to watch from) */
    resourceVersion?: (listed: string, lists: number) => string;
    handlerMs?: number;
  } = {},
) {
  const seen: string[] = [];
  const logged: string[] = [];
  let lists = 0;
  let running = 0;
  let overlapped = false;
  const log = (level: string) => (obj: unknown, msg?: string) => {
    logged.push(`${level}: ${typeof obj === 'string' ? obj : msg}`);
  };
  const resource = options.resource ?? 'configmaps';
  const w = new ListWatch<Obj>({
    kubeConfig: adminKubeConfig(),
    path: `/api/v1/namespaces/${ns}/${resource}`,
    labelSelector: LABEL,
    what: `${resource} in ${ns}`,
    logger: { info: log('info'), warn: log('warn'), debug: log('debug') } as never,
    ...(options.watchTimeoutSeconds ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
    list: async (): Promise<Listed<Obj>> => {
      lists++;
      const query = { namespace: ns, labelSelector: LABEL };
      const list =
        resource === 'events'
          ? await core.listNamespacedEvent(query)
          : await core.listNamespacedConfigMap(query);
      const rv = list.metadata?.resourceVersion ?? '';
      return { items: list.items, resourceVersion: options.resourceVersion?.(rv, lists) ?? rv };
    },
    onSync: (items) => {
      seen.push(`sync ${items.map(show).join(',')}`);
    },
    onEvent: async (type: WatchEventType, c) => {
      if (running++ > 0) overlapped = true;
      await new Promise((r) => setTimeout(r, options.handlerMs ?? 0));
      seen.push(`${type} ${show(c)}`);
      running--;
    },
  });
  watches.push(w);
  w.start();
  return {
    w,
    seen,
    logged,
    lists: () => lists,
    overlapped: () => overlapped,
    /** Waits until `line` was seen. */
    saw: (line: string) => until(line, () => seen.includes(line), 10_000),
  };
}

describe('ListWatch', () => {
  it('hands the list to onSync, then every event in order, one handler at a time', async () => {
    await put('a', '1');
    const f = follow({ handlerMs: 30 });
    await until('synced', () => f.w.synced);
    expect(f.seen).toEqual(['sync a=1']);
    await put('b', '1');
    await set('a', '2');
    await remove('b');
    await put('c', '1');
    await set('c', '2');
    await f.saw('MODIFIED c=2');
    expect(f.seen).toEqual([
      'sync a=1',
      'ADDED b=1',
      'MODIFIED a=2',
      'DELETED b=1',
      'ADDED c=1',
      'MODIFIED c=2',
    ]);
    expect(f.overlapped()).toBe(false);
    expect(f.lists()).toBe(1);
  });

  it('resumes a watch the server ended from the last version seen, without listing again', async () => {
    const f = follow({ watchTimeoutSeconds: 1 });
    await until('synced', () => f.w.synced);
    await put('a', '1');
    await f.saw('ADDED a=1');
    // The server ends each watch after 1 s; events meanwhile are neither lost nor repeated.
    await new Promise((r) => setTimeout(r, 2500));
    await set('a', '2');
    await new Promise((r) => setTimeout(r, 1200));
    await put('b', '1');
    await f.saw('ADDED b=1');
    expect(f.seen).toEqual(['sync ', 'ADDED a=1', 'MODIFIED a=2', 'ADDED b=1']);
    expect(f.lists()).toBe(1);
    expect(f.logged.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('lists again when asked (relist), and watches on from the new list', async () => {
    await put('a', '1');
    const f = follow();
    await until('synced', () => f.w.synced);
    await set('a', '2');
    await f.saw('MODIFIED a=2');
    f.w.relist();
    await until('a second list', () => f.lists() === 2);
    await f.saw('sync a=2');
    await put('b', '1');
    await f.saw('ADDED b=1');
    expect(f.seen).toEqual(['sync a=1', 'MODIFIED a=2', 'sync a=2', 'ADDED b=1']);
    expect(f.logged.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('lists again when the watch answers 410 Gone (a resourceVersion too old to watch from)', async () => {
    // On Events: kube-apiserver keeps no watch cache for them, so a watch from a resourceVersion
    // etcd compacted away is answered 410 Expired. (The watch cache of ConfigMaps keeps what it
    // saw since it started, compaction or not, and replays it.)
    await note('a', '1');
    await compactEtcd();
    // The first watch starts from resourceVersion 1, compacted away.
    const f = follow({ resource: 'events', resourceVersion: (rv, lists) => (lists === 1 ? '1' : rv) });
    await until('a second list', () => f.lists() === 2);
    expect(f.logged).toContain('info: watch resourceVersion expired (410); listing again');
    expect(f.logged.filter((l) => l.startsWith('warn'))).toEqual([]);
    await note('b', '1');
    await f.saw('ADDED b=1');
    // What the 410'd watch might have told is not told again: the second list holds it.
    expect(f.seen).toEqual(['sync a=1', 'sync a=1', 'ADDED b=1']);
  });
});
