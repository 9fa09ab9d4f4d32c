// The chaos suite's world: three leasecron replica processes on a MongoDB-protocol server and a
// kube-apiserver of their own (so a test can kill, freeze and restart them without touching the
// shared stack), each replica reaching MongoDB through its own breakable TCP proxy, a webhook
// sink that records every delivery, and a prober that keeps asking the API and times each answer.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { MongoClient } from 'mongodb';
import { type StartedKube, startKube } from '../../stack/kube.ts';
import { type StartedMongo, startMongo } from '../../stack/mongo.ts';
import { allocatePorts } from '../../stack/ports.ts';
import { isAlive, type Managed, signal, stopProcess } from '../../stack/processes.ts';
import {
  clusterView,
  type Replica,
  startReplica,
  stopReplica,
  waitForLeader,
  waitReady,
} from '../../stack/replicas.ts';
import { provision, type StackInfo } from '../../stack/stack.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

export const LEASE = {
  LEASE_DURATION_SECONDS: '3',
  RENEW_DEADLINE_SECONDS: '2',
  RETRY_PERIOD_SECONDS: '0.5',
};
export const LEASE_DURATION_MS = 3000;
/** fireAll's cap in the chaos replicas (MAX_CATCHUP_PER_SCHEDULE). */
export const CATCH_UP_CAP = 3;

export interface Delivery {
  schedule: string;
  scheduledFor: number;
  receivedAt: number;
}

export interface Probe {
  at: number;
  ms: number;
  status: number | 'no answer';
}

export class Sink {
  readonly deliveries: Delivery[] = [];
  #server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const d = {
        schedule: String(req.headers['x-leasecron-schedule-id']),
        scheduledFor: Date.parse(String(req.headers['x-leasecron-scheduled-for'])),
        receivedAt: Date.now(),
      };
      this.deliveries.push(d);
      req.resume();
      // /slow answers after 2 s: a delivery that is in flight when a fault strikes.
      const delay = req.url?.startsWith('/slow') ? 2000 : 0;
      setTimeout(() => res.end('ok'), delay);
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  of(scheduleId: string): Delivery[] {
    return this.deliveries.filter((d) => d.schedule === scheduleId);
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r) ?? r(undefined));
  }
}

export class ChaosCluster {
  readonly dir: string;
  replicas: Replica[] = [];
  readonly proxies = new Map<string, TcpProxy>();
  readonly sink = new Sink();
  readonly probes: Probe[] = [];
  /** replicas that cannot answer by design right now (frozen or killed by the test) */
  readonly unavailable = new Set<string>();
  mongo!: StartedMongo;
  kube!: StartedKube;
  #mongoPort = 0;
  #venv: string | null = null;
  #apiserver!: Managed;
  #probing = false;
  #prober: Promise<void> | null = null;
  #ports: number[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  get stackInfo(): StackInfo {
    return {
      dir: this.dir,
      kube: this.kube.info,
      mongo: this.mongo.info,
      pids: [],
      startMs: 0,
      ports: this.kube.info.ports,
    };
  }

  /** The URI replicas and the test use directly (not through a proxy). */
  get mongoUri(): string {
    return `mongodb://127.0.0.1:${this.#mongoPort}/?directConnection=true`;
  }

  async start(): Promise<void> {
    const { kubeBinDir, secantusVenv } = provision();
    this.#venv = secantusVenv;
    const ports = await allocatePorts(4);
    this.#mongoPort = ports[0]!;
    this.#ports = ports.slice(1);
    const { MONGODB_URI: _shared, ...env } = process.env;
    [this.mongo, this.kube] = await Promise.all([
      startMongo(join(this.dir, 'mongo'), { env, secantusVenv, port: this.#mongoPort }),
      startKube(join(this.dir, 'kube'), kubeBinDir),
    ]);
    this.#apiserver = this.kube.procs[0]!;
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.kube.info.kubeconfig);
    await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: 'chaos' } } });
    await this.sink.start();
    for (let i = 0; i < 3; i++) {
      const identity = `chaos-${i}`;
      this.proxies.set(identity, await startTcpProxy({ host: '127.0.0.1', port: this.#mongoPort }));
      this.replicas.push(this.#startReplica(identity, this.#ports[i]!));
    }
    await Promise.all(this.replicas.map((r) => waitReady(r)));
    await this.leader(30_000);
    this.#probing = true;
    this.#prober = this.#probe();
  }

  #startReplica(identity: string, port: number): Replica {
    const proxy = this.proxies.get(identity)!;
    return startReplica(
      this.stackInfo,
      { identity, port, logFile: join(this.dir, `${identity}.log`) },
      {
        entry: 'src/main.ts',
        env: {
          ...LEASE,
          POD_NAMESPACE: 'chaos',
          MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`,
          MONGODB_DB: 'chaos',
          MAX_CATCHUP_PER_SCHEDULE: String(CATCH_UP_CAP),
          SHUTDOWN_TIMEOUT_SECONDS: '10',
        },
      },
    );
  }

  /** Keeps asking a live replica for a short list, four times a second, timing each answer. */
  async #probe(): Promise<void> {
    let i = 0;
    while (this.#probing) {
      const live = this.replicas.filter((r) => !this.unavailable.has(r.identity) && isAlive(r));
      const r = live[i++ % Math.max(live.length, 1)];
      if (r) {
        const t0 = performance.now();
        let status: Probe['status'];
        try {
          const res = await fetch(`http://127.0.0.1:${r.port}/api/v1/schedules?limit=5`, {
            signal: AbortSignal.timeout(5000),
          });
          await res.arrayBuffer();
          status = res.status;
        } catch {
          status = 'no answer';
        }
        // A replica the test froze or killed meanwhile is not the API's fault.
        if (!this.unavailable.has(r.identity) && isAlive(r)) {
          this.probes.push({ at: Date.now(), ms: performance.now() - t0, status });
        }
      }
      await sleep(250);
    }
  }

  async leader(timeoutMs = 30_000): Promise<Replica> {
    const live = this.replicas.filter((r) => !this.unavailable.has(r.identity));
    return (await waitForLeader(live, { timeoutMs, pollMs: 50 })).leader;
  }

  /** A request to some live replica. */
  async api(path: string, init: RequestInit = {}): Promise<Response> {
    const live = this.replicas.filter((r) => !this.unavailable.has(r.identity) && isAlive(r));
    let last: unknown;
    for (const r of live) {
      try {
        return await fetch(`http://127.0.0.1:${r.port}${path}`, {
          ...init,
          headers: { 'content-type': 'application/json', ...init.headers },
          signal: AbortSignal.timeout(5000),
        });
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`no replica answered ${path}`, { cause: last });
  }

  // --- faults -------------------------------------------------------------------------------

  mongoSignal(sig: NodeJS.Signals): void {
    signal(this.mongo.procs[0]!, sig);
  }

  async mongoKill(): Promise<void> {
    await this.mongo.stop?.();
    const proc = this.mongo.procs[0]!;
    signal(proc, 'SIGKILL');
    while (isAlive(proc)) await sleep(20);
  }

  /** Starts the MongoDB-protocol server again on the same data and port. */
  async mongoRestart(): Promise<void> {
    const { MONGODB_URI: _shared, ...env } = process.env;
    this.mongo = await startMongo(join(this.dir, 'mongo'), {
      env,
      secantusVenv: this.#venv,
      port: this.#mongoPort,
    });
  }

  apiServerSignal(sig: NodeJS.Signals): void {
    signal(this.#apiserver, sig);
  }

  async apiServerKill(): Promise<void> {
    signal(this.#apiserver, 'SIGKILL');
    while (isAlive(this.#apiserver)) await sleep(20);
  }

  async apiServerRestart(): Promise<void> {
    this.#apiserver = await this.kube.restartApiServer();
  }

  /** SIGTERM (graceful) or SIGKILL, then a restart under the same identity and port, as a Deployment would. */
  async restartReplica(r: Replica, sig: 'SIGTERM' | 'SIGKILL'): Promise<Replica> {
    this.unavailable.add(r.identity);
    await stopReplica(r, sig);
    const next = this.#startReplica(r.identity, r.port);
    this.replicas = this.replicas.map((x) => (x.identity === r.identity ? next : x));
    await waitReady(next);
    this.unavailable.delete(r.identity);
    return next;
  }

  async role(r: Replica): Promise<string | undefined> {
    return (await clusterView(r.port))?.role;
  }

  async insertRaw(doc: Record<string, unknown>): Promise<void> {
    const client = new MongoClient(this.mongoUri, { serverSelectionTimeoutMS: 5000 });
    try {
      await client
        .db('chaos')
        .collection('schedules')
        .insertOne(doc as never);
    } finally {
      await client.close();
    }
  }

  async close(): Promise<void> {
    this.#probing = false;
    await this.#prober;
    this.mongoSignal('SIGCONT');
    this.apiServerSignal('SIGCONT');
    for (const r of this.replicas) signal(r, 'SIGCONT');
    await Promise.all(this.replicas.map((r) => stopReplica(r, 'SIGKILL')));
    for (const p of this.proxies.values()) await p.close();
    await this.sink.close();
    await this.mongo?.stop?.();
    for (const p of [...(this.mongo?.procs ?? []), this.#apiserver, ...(this.kube?.procs.slice(1) ?? [])]) {
      if (p) await stopProcess(p);
    }
  }
}
