import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { http1Only, loadKubeConfig } from './kube-config.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function kubeconfigFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  dirs.push(dir);
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
    ].join('\n'),
  );
  return file;
}

// Issue 9: HTTP/2 to kube-apiserver can hang the process (see http1Only); the int test checks the
// protocol on the wire, these the options client-node builds its dispatcher from.
describe('http1Only', () => {
  it('loadKubeConfig turns HTTP/2 off in the agent client-node builds for TLS options', () => {
    const kc = loadKubeConfig(kubeconfigFile());
    const options = kc.createDispatcherOptions(kc.getCurrentCluster(), { rejectUnauthorized: false });
    expect(options).toMatchObject({ type: 'agent', connect: { rejectUnauthorized: false, allowH2: false } });
  });

  it('gives an HTTP/1.1 agent where client-node would use the global dispatcher; idempotent', () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigFile());
    expect(kc.createDispatcherOptions(kc.getCurrentCluster(), {})).toEqual({ type: 'none' });
    expect(http1Only(http1Only(kc))).toBe(kc);
    expect(kc.createDispatcherOptions(kc.getCurrentCluster(), {})).toEqual({
      type: 'agent',
      connect: { allowH2: false },
    });
  });
});
