// The real local stack for a benchmark: the same kube-apiserver + etcd and
// MongoDB-protocol server the integration tests and `make local-up` use, in a
// folder of its own under .local/bench/, stopped when the benchmark ends (also on
// Ctrl-C). Its data folders are removed afterwards; the logs stay.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { type Db, MongoClient } from 'mongodb';
import { type StackInfo, startStack } from '../../stack/stack.ts';
import { REPO_ROOT } from './report.ts';

export interface BenchStack {
  info: StackInfo;
  dir: string;
  stop(): Promise<void>;
}

export async function benchStack(name: string): Promise<BenchStack> {
  const dir = join(REPO_ROOT, '.local', 'bench', name);
  rmSync(dir, { recursive: true, force: true });
  const { info, stop } = await startStack({ dir: join(dir, 'stack') });
  console.log(
    `# stack: Kubernetes ${info.kube.version}, ${info.mongo.server}; started in ${info.startMs} ms; logs in ${dir}`,
  );
  let stopped: Promise<void> | null = null;
  const stopAll = () => {
    stopped ??= stop().then(() => {
      for (const data of ['kube/etcd-data', 'mongo/secantus-data', 'mongo/mongod-data'])
        rmSync(join(dir, 'stack', data), { recursive: true, force: true });
    });
    return stopped;
  };
  const onSignal = () => {
    console.error('\ninterrupted: stopping the stack');
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { info, dir, stop: stopAll };
}

/**
 * A client on the stack's MongoDB. `retryWrites: false` is for benchmarks that write more
 * than 10,000 times to SecantusDB: it keeps a retryable-write record per write and, past
 * 10,000 records (kept 30 min), sorts them all on every write to evict the oldest, which
 * adds 3–6 ms to each write (bench/README.md). A real MongoDB has no such cliff.
 */
export async function connectDb(
  info: StackInfo,
  dbName: string,
  opts: { retryWrites?: boolean } = {},
): Promise<{ client: MongoClient; db: Db }> {
  const client = new MongoClient(info.mongo.uri, opts.retryWrites === false ? { retryWrites: false } : {});
  await client.connect();
  return { client, db: client.db(dbName) };
}

export async function ensureNamespace(info: StackInfo, name: string): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.kube.kubeconfig);
  try {
    await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
  }
}

/**
 * A bearer token as a platform team would hand one out: ServiceAccount `name` in `namespace`,
 * bound cluster-wide to deploy/'s ClusterRole `clusterRole` (created here from the shipped YAML).
 */
export async function serviceAccountToken(
  info: StackInfo,
  opts: { namespace: string; name: string; clusterRole: string },
): Promise<string> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.kube.kubeconfig);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const roles = k8s.loadAllYaml(
    readFileSync(join(REPO_ROOT, 'deploy/base/leasecron/clusterroles.yaml'), 'utf8'),
  ) as k8s.V1ClusterRole[];
  const role = roles.find((r) => r.metadata?.name === opts.clusterRole);
  if (!role) throw new Error(`no ClusterRole ${opts.clusterRole} in deploy/`);
  await rbac.createClusterRole({ body: role });
  await core.createNamespacedServiceAccount({
    namespace: opts.namespace,
    body: { metadata: { name: opts.name } },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `${opts.name}-${opts.clusterRole}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: opts.clusterRole },
      subjects: [{ kind: 'ServiceAccount', namespace: opts.namespace, name: opts.name }],
    },
  });
  const minted = await core.createNamespacedServiceAccountToken({
    namespace: opts.namespace,
    name: opts.name,
    body: { spec: { expirationSeconds: 3600 } },
  });
  return minted.status!.token!;
}
