// A real kube-apiserver + etcd on loopback, flags as envtest sets them: RBAC on,
// an admin identity (static token in system:masters), and service-account
// signing keys so tests can mint ServiceAccount tokens with TokenRequest.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { type Managed, startProcess, stopProcess, waitFor } from './processes.ts';

export interface KubeInfo {
  server: string;
  token: string;
  kubeconfig: string;
  binDir: string;
  version: string;
  /** etcd's client URL (plain HTTP), e.g. to compact its history as kube-apiserver would */
  etcd: string;
  ports: KubePorts;
}

/** The loopback ports of etcd and kube-apiserver (`make local-up` keeps them across restarts). */
export interface KubePorts {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
}

export function httpsGet(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` }, timeout: 2000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export function kubeconfigYaml(server: string, token: string, user = 'admin'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: leasecron-test',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: leasecron-test',
    '  context:',
    '    cluster: leasecron-test',
    `    user: ${user}`,
    '    namespace: default',
    'current-context: leasecron-test',
    '',
  ].join('\n');
}

export interface StartedKube {
  info: KubeInfo;
  procs: Managed[];
  /** starts kube-apiserver again with the same flags (etcd keeps the data), after a test killed it */
  restartApiServer(): Promise<Managed>;
}

/**
 * Starts etcd and kube-apiserver with their data in `dir`. A `dir` that holds a previous run's
 * data (`make local-up` after `make local-down`) is started again as it was: etcd's data, the
 * service-account keys (tokens minted before stay valid) and the admin token are reused; pass
 * the previous `ports` to keep the same addresses.
 */
export async function startKube(
  dir: string,
  binDir: string,
  opts: { detached?: boolean; ports?: Partial<KubePorts> } = {},
): Promise<StartedKube> {
  mkdirSync(dir, { recursive: true });
  const etcdClient = opts.ports?.etcdClient ?? (await freePort());
  const etcdPeer = opts.ports?.etcdPeer ?? (await freePort());
  const securePort = opts.ports?.apiServer ?? (await freePort());
  const etcd = startProcess(
    'etcd',
    join(binDir, 'etcd'),
    [
      '--name=default',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    { logFile: join(dir, 'etcd.log'), detached: opts.detached },
  );
  await waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, {
    timeoutMs: 30_000,
    proc: etcd,
  });

  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  if (!existsSync(saKey) || !existsSync(saPub)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  const tokenFile = join(dir, 'tokens.csv');
  const kept = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').split(',')[0]?.trim() : '';
  const token = kept || randomBytes(24).toString('hex');
  writeFileSync(tokenFile, `${token},leasecron-admin,leasecron-admin-uid,"system:masters"\n`, {
    mode: 0o600,
  });
  const certDir = join(dir, 'certs');
  mkdirSync(certDir, { recursive: true });

  const startApiServer = () =>
    startProcess(
      'kube-apiserver',
      join(binDir, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${securePort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokenFile}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--api-audiences=https://kubernetes.default.svc.cluster.local',
        '--disable-admission-plugins=ServiceAccount',
        '--endpoint-reconciler-type=none',
        '--v=1',
      ],
      { logFile: join(dir, 'kube-apiserver.log'), detached: opts.detached },
    );
  const apiserver = startApiServer();
  const server = `https://127.0.0.1:${securePort}`;
  const ready = (proc: Managed) =>
    waitFor(
      'kube-apiserver',
      async () => {
        const r = await httpsGet(`${server}/readyz`, token);
        if (r.status !== 200) return false;
        // RBAC bootstrap roles and the default namespace arrive shortly after /readyz.
        const ns = await httpsGet(`${server}/api/v1/namespaces/default`, token);
        return ns.status === 200;
      },
      { timeoutMs: 90_000, proc },
    );
  try {
    await ready(apiserver);
  } catch (err) {
    await stopProcess(apiserver);
    await stopProcess(etcd);
    throw err;
  }
  const version = JSON.parse((await httpsGet(`${server}/version`, token)).body).gitVersion as string;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server, token), { mode: 0o600 });
  return {
    info: {
      server,
      token,
      kubeconfig,
      binDir,
      version,
      etcd: `http://127.0.0.1:${etcdClient}`,
      ports: { etcdClient, etcdPeer, apiServer: securePort },
    },
    procs: [apiserver, etcd],
    async restartApiServer() {
      const proc = startApiServer();
      await ready(proc);
      return proc;
    },
  };
}
