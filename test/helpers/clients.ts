// Clients for integration tests, built from the stack that global setup started.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { type Db, MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { http1Only } from '../../src/election/kube-config.ts';

export function stack() {
  return inject('stack');
}

export function adminKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(stack().kube.kubeconfig);
  // As the app's own clients (issue 9): an aborted HTTP/2 write can hang the test worker.
  return http1Only(kc);
}

/** A KubeConfig that authenticates with a bearer token (e.g. a ServiceAccount's). */
export function tokenKubeConfig(token: string, namespace = 'default'): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: stack().kube.server, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace }],
    currentContext: 'x',
  });
  return http1Only(kc);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A fresh namespace per test file keeps files independent on one API server. */
export async function createNamespace(prefix = 'lc'): Promise<string> {
  const name = uniqueName(prefix);
  await adminKubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name } } });
  return name;
}

/** A fresh database per test file on the shared MongoDB server. */
export async function freshDb(prefix = 'lc'): Promise<{ client: MongoClient; db: Db }> {
  const client = new MongoClient(stack().mongo.uri);
  await client.connect();
  return { client, db: client.db(uniqueName(prefix).replace(/-/g, '_')) };
}

/** Drops a database a test created by name (e.g. for replica processes), then disconnects. */
export async function dropDb(name: string): Promise<void> {
  const client = new MongoClient(stack().mongo.uri);
  try {
    await client.db(name).dropDatabase();
  } finally {
    await client.close();
  }
}
