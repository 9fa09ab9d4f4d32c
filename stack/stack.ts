// Starts the whole real test stack (kube-apiserver + etcd, a MongoDB-protocol
// server) on free loopback ports, after provisioning it with the project's own
// script. Used by vitest's global setup and by `make local-up`.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KubeInfo, type KubePorts, startKube } from './kube.ts';
import { type MongoInfo, startMongo } from './mongo.ts';
import { type Managed, stopProcess } from './processes.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The loopback ports of the stack's servers: `make local-up` keeps them in its state folder. */
export interface StackPorts extends KubePorts {
  /** absent when MONGODB_URI names a server of someone else's */
  mongo?: number;
}

export interface StackInfo {
  dir: string;
  kube: KubeInfo;
  mongo: MongoInfo;
  pids: { name: string; pid: number; start?: string | null }[];
  startMs: number;
  ports: StackPorts;
  /** the helm binary scripts/provision-stack.sh built or found (HELM_BIN), for test/deploy/helm */
  helm?: string;
}

export function provision(): { kubeBinDir: string; secantusVenv: string | null; helmBin: string | null } {
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'provision-stack.sh'), 'all'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new Error(`scripts/provision-stack.sh failed (exit ${r.status}); see its messages above`);
  const vars = Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => /^(KUBE_BIN_DIR|SECANTUS_VENV|HELM_BIN)=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  if (!vars.KUBE_BIN_DIR) throw new Error('scripts/provision-stack.sh did not report KUBE_BIN_DIR');
  return {
    kubeBinDir: vars.KUBE_BIN_DIR,
    secantusVenv: vars.SECANTUS_VENV ?? null,
    helmBin: vars.HELM_BIN ?? null,
  };
}

/**
 * Provisions only the MongoDB-protocol server, for a test that starts a dedicated one (to freeze
 * or kill it): MONGODB_URI is ignored here, since a shared external server is not ours to stop.
 */
export function provisionMongo(): { secantusVenv: string | null } {
  const { MONGODB_URI: _shared, ...env } = process.env;
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'provision-stack.sh'), 'mongo'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env,
  });
  if (r.status !== 0) throw new Error(`scripts/provision-stack.sh mongo failed (exit ${r.status})`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('SECANTUS_VENV='));
  return { secantusVenv: line ? line.slice('SECANTUS_VENV='.length) : null };
}

/**
 * Starts the stack with its data in `dir`. Data already there (a previous run's, as `make local-up`
 * keeps it) is started again, not wiped: pass that run's `ports` to keep its addresses. `onStep`
 * hears each step as it is done, with the ms since the start.
 */
export async function startStack(opts: {
  dir: string;
  detached?: boolean;
  /** run the database's clock this many days ahead (the date check); default 0 */
  dbClockOffsetDays?: number;
  /** ports to listen on (each must be free); any left out are allocated */
  ports?: Partial<StackPorts>;
  onStep?: (step: string, ms: number) => void;
}): Promise<{
  info: StackInfo;
  stop: () => Promise<void>;
}> {
  const t0 = Date.now();
  const step = (what: string) => opts.onStep?.(what, Date.now() - t0);
  mkdirSync(opts.dir, { recursive: true });
  const paths = provision();
  step('tools provisioned: scripts/provision-stack.sh');
  const procs: Managed[] = [];
  const hooks: (() => Promise<void>)[] = [];
  const stop = async () => {
    await Promise.all(hooks.map((h) => h()));
    await Promise.all(procs.map((p) => stopProcess(p)));
  };
  const [kube, mongo] = await Promise.allSettled([
    startKube(join(opts.dir, 'kube'), paths.kubeBinDir, {
      detached: opts.detached,
      ...(opts.ports ? { ports: opts.ports } : {}),
    }).then((k) => {
      step(`etcd and kube-apiserver ready: Kubernetes ${k.info.version}`);
      return k;
    }),
    startMongo(join(opts.dir, 'mongo'), {
      env: process.env,
      secantusVenv: paths.secantusVenv,
      detached: opts.detached,
      clockOffsetDays: opts.dbClockOffsetDays ?? 0,
      ...(opts.ports?.mongo ? { port: opts.ports.mongo } : {}),
    }).then((m) => {
      step(`database ready: ${m.info.server}`);
      return m;
    }),
  ]);
  if (kube.status === 'fulfilled') procs.push(...kube.value.procs);
  if (mongo.status === 'fulfilled') {
    procs.push(...mongo.value.procs);
    if (mongo.value.stop) hooks.push(mongo.value.stop);
  }
  if (kube.status === 'rejected' || mongo.status === 'rejected') {
    await stop();
    const errs = [kube, mongo]
      .filter((r) => r.status === 'rejected')
      .map((r) => String(r.reason?.message ?? r.reason));
    throw new Error(`test stack did not start:\n- ${errs.join('\n- ')}\n(logs in ${opts.dir})`);
  }
  return {
    info: {
      dir: opts.dir,
      kube: kube.value.info,
      mongo: mongo.value.info,
      pids: procs.map((p) => ({ name: p.name, pid: p.pid, start: p.start ?? null })),
      startMs: Date.now() - t0,
      ports: {
        ...kube.value.info.ports,
        ...(mongo.value.info.port ? { mongo: mongo.value.info.port } : {}),
      },
      ...(paths.helmBin ? { helm: paths.helmBin } : {}),
    },
    stop,
  };
}
