// `make local-up` / `local-down` / `local-reset` / `failover` without Docker: the real stack
// (stack/: kube-apiserver + etcd, a MongoDB-protocol server) and three leasecron replicas
// as processes on 127.0.0.1:8080-8082, identities leasecron-0..2.
//   node scripts/local.ts up | down | reset | failover [--kill] | status
// The state folder keeps its data across down and up: etcd's (Schedule objects, the Lease), the
// database's (schedules, runs), the admin and API tokens, and the servers' ports (ports.json, taken
// again when free). `reset` stops what runs and wipes the folder.
// LEASECRON_LOCAL_DIR (default .local/local) and LEASECRON_LOCAL_PORT (default 8080) move the
// state folder and the replicas' ports: the tests run this script with their own, so a
// `make test` never sees or stops the user's `make local-up`.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { reservePort } from '../stack/ports.ts';
import { isAlive, stopProcess } from '../stack/processes.ts';
import {
  clusterView,
  type Replica,
  startReplica,
  stopReplica,
  waitForLeader,
  waitReady,
} from '../stack/replicas.ts';
import { REPO_ROOT, type StackInfo, type StackPorts, startStack } from '../stack/stack.ts';
import { applyYaml, loadKube, waitEstablished } from './kube.mjs';

const DIR = resolve(REPO_ROOT, process.env.LEASECRON_LOCAL_DIR || join('.local', 'local'));
const STATE = join(DIR, 'state.json');
/** The stack's ports of the last `up`, kept across `down` (state.json goes: it means "running"). */
const PORTS = join(DIR, 'ports.json');
const STACK_DIR = join(DIR, 'stack');
const ENTRY = 'dist/main.js';
const BASE_PORT = Number(process.env.LEASECRON_LOCAL_PORT || 8080);
if (!Number.isInteger(BASE_PORT) || BASE_PORT < 1 || BASE_PORT > 65_533) {
  console.error(`local: LEASECRON_LOCAL_PORT=${process.env.LEASECRON_LOCAL_PORT} is not a port (1-65533)`);
  process.exit(2);
}
const REPLICAS = 3;
/** The generated admin token of this local stack (sent by the demo targets, through the leasecron CLI). */
const TOKEN_FILE = join(DIR, 'api-token');

const authEnv = (apiToken: string) => ({ AUTH: 'kubernetes', API_TOKEN: apiToken });

interface State {
  stack: StackInfo;
  replicas: Replica[];
}

function load(): State | null {
  if (!existsSync(STATE)) return null;
  return JSON.parse(readFileSync(STATE, 'utf8')) as State;
}

function save(s: State): void {
  const plain = { stack: s.stack, replicas: s.replicas.map(({ proc: _p, ...r }) => r) };
  writeFileSync(STATE, `${JSON.stringify(plain, null, 2)}\n`);
}

/** The newest mtime of the sources dist/ is built from (src/ without unit tests, as tsconfig.build.json). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (!e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const show = (p: string) => relative(process.cwd(), p) || '.';

/** One line per step of `up`, with the ms since it began. */
function stepper(t0: number): (what: string, ms?: number) => void {
  return (what, ms) => console.log(`local: ${what} (${ms ?? Date.now() - t0} ms)`);
}

function savedPorts(): Partial<StackPorts> {
  try {
    return JSON.parse(readFileSync(PORTS, 'utf8')) as Partial<StackPorts>;
  } catch {
    return {};
  }
}

/** The last run's ports that are free now (and taken for this run); the others are allocated anew. */
async function reusablePorts(): Promise<{ ports: Partial<StackPorts>; moved: string[] }> {
  const ports: Partial<StackPorts> = {};
  const moved: string[] = [];
  for (const [name, port] of Object.entries(savedPorts()) as [keyof StackPorts, number][]) {
    if (await reservePort(port)) ports[name] = port;
    else moved.push(`${name} ${port}`);
  }
  return { ports, moved };
}

/** Stops what a previous `up` left running (a replica or server that outlived a crash). */
async function stopLeftovers(s: State): Promise<void> {
  await Promise.all(s.replicas.map((r) => stopReplica(r, 'SIGTERM')));
  await Promise.all(s.stack.pids.map((p) => stopProcess(p)));
  rmSync(STATE, { force: true });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function fail(msg: string): never {
  console.error(`local: ${msg}`);
  process.exit(1);
}

async function ensureNamespace(stack: StackInfo, name: string): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(stack.kube.kubeconfig);
  try {
    await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
  }
}

/**
 * What deploy/ installs for Schedule objects, into the local API server: the CRD (served before a
 * replica starts, so the leader's controller finds it) and the admission policy for jobTemplate
 * Schedules. RBAC is left out: the replicas and `make apply-schedule` use the admin kubeconfig.
 */
const DECLARATIVE = ['deploy/crd/schedules.leasecron.io.yaml', 'deploy/admission/schedule-job-policy.yaml'];

async function installDeclarative(stack: StackInfo): Promise<void> {
  const kc = loadKube({ kubeconfig: stack.kube.kubeconfig });
  for (const file of DECLARATIVE) {
    await applyYaml(kc, readFileSync(join(REPO_ROOT, file), 'utf8'), { fieldManager: 'leasecron-local' });
  }
  await waitEstablished(kc, 'schedules.leasecron.io');
}

async function printStatus(s: State): Promise<void> {
  for (const r of s.replicas) {
    const v = isAlive(r) ? await clusterView(r.port, 1000, r.apiToken) : null;
    const role = v ? v.role : isAlive(r) ? 'starting' : 'stopped';
    console.log(`  ${r.identity}  http://127.0.0.1:${r.port}  pid ${r.pid}  ${role}  log ${r.logFile}`);
  }
}

async function up(): Promise<void> {
  const prev = load();
  if (prev?.replicas.some((r) => isAlive(r))) {
    console.log('local: already up:');
    await printStatus(prev);
    return;
  }
  const t0 = Date.now();
  const step = stepper(t0);
  if (!existsSync(join(REPO_ROOT, ENTRY))) fail(`${ENTRY} is missing: run \`make build\` first`);
  if (newestMtime(join(REPO_ROOT, 'src')) > statSync(join(REPO_ROOT, ENTRY)).mtimeMs) {
    fail(`${ENTRY} is older than src/: run \`make build\` (make local-up does)`);
  }
  for (let i = 0; i < REPLICAS; i++) {
    if (!(await portFree(BASE_PORT + i))) {
      fail(
        `port ${BASE_PORT + i} on 127.0.0.1 is in use; stop what listens there (or run \`make local-down\`)`,
      );
    }
  }
  if (prev) await stopLeftovers(prev);
  const kept = existsSync(STACK_DIR);
  mkdirSync(DIR, { recursive: true });
  const { ports, moved } = await reusablePorts();
  step(
    kept
      ? `data kept in ${show(DIR)} from the last run (\`make local-reset\` wipes it)${moved.length ? `; ports taken meanwhile, moved: ${moved.join(', ')}` : ''}`
      : `new data folder ${show(DIR)}`,
  );
  const stackT0 = Date.now() - t0;
  const { info } = await startStack({
    dir: STACK_DIR,
    detached: true,
    ports,
    onStep: (what, ms) => step(what, stackT0 + ms),
  });
  writeFileSync(PORTS, `${JSON.stringify(info.ports, null, 2)}\n`);
  // Saved at once: a failure from here on leaves a state that `make local-down` stops.
  save({ stack: info, replicas: [] });
  await ensureNamespace(info, 'leasecron');
  await installDeclarative(info);
  step('namespace leasecron, Schedule CRD and admission policy applied');
  // Auth on, as in a cluster (issue 11): the replicas check bearer tokens with the local API
  // server (AUTH=kubernetes) and accept this generated admin token, which the demo targets read
  // from the state folder (mk/demo.mk), so nobody types it. Kept across restarts, like the data.
  const keptToken = existsSync(TOKEN_FILE) ? readFileSync(TOKEN_FILE, 'utf8').trim() : '';
  const apiToken = keptToken || randomBytes(24).toString('hex');
  writeFileSync(TOKEN_FILE, `${apiToken}\n`, { mode: 0o600 });
  const replicas: Replica[] = [];
  for (let i = 0; i < REPLICAS; i++) {
    const spec = {
      identity: `leasecron-${i}`,
      port: BASE_PORT + i,
      logFile: join(DIR, `leasecron-${i}.log`),
      apiToken,
    };
    replicas.push(startReplica(info, spec, { entry: ENTRY, detached: true, env: authEnv(apiToken) }));
  }
  const state = { stack: info, replicas };
  save(state);
  await Promise.all(replicas.map((r) => waitReady(r)));
  step(`leasecron-0..${REPLICAS - 1} started from ${ENTRY}, all ready`);
  const { view } = await waitForLeader(replicas, { timeoutMs: 60_000 });
  console.log(`local: 3 replicas ready in ${Date.now() - t0} ms; leader: ${view.identity}`);
  await printStatus(state);
  console.log(
    'local: try `make create-schedule`, `make get-schedules`, `make apply-schedule`, `make get-crs`, `make failover`; stop with `make local-down` (keeps the data), wipe with `make local-reset`',
  );
}

async function down(): Promise<void> {
  const s = load();
  if (!s) {
    console.log('local: nothing to stop');
    return;
  }
  // Also reached after a failed `up`: stop whatever it had started.
  await stopLeftovers(s);
  console.log(
    `local: stopped ${s.replicas.length} replicas and the stack (data and logs kept in ${show(DIR)}; \`make local-reset\` wipes them)`,
  );
}

/** Files one of our state folders holds: `reset` wipes nothing else. */
const OURS = ['state.json', 'ports.json', 'api-token', 'stack'];

async function reset(): Promise<void> {
  if (load()) await down();
  if (!existsSync(DIR)) {
    console.log(`local: nothing to wipe (${show(DIR)} does not exist)`);
    return;
  }
  const entries = readdirSync(DIR);
  if (entries.length > 0 && !entries.some((e) => OURS.includes(e))) {
    fail(`${DIR} does not look like a local-up state folder (no ${OURS.join(', ')}); not wiping it`);
  }
  rmSync(DIR, { recursive: true, force: true });
  console.log(`local: wiped ${show(DIR)}: schedules, runs, Schedule objects, tokens, ports and logs`);
}

async function failover(kill: boolean): Promise<void> {
  const s = load();
  if (!s?.replicas.some((r) => isAlive(r))) fail('nothing is running: run `make local-up` first');
  const { leader, view } = await waitForLeader(s.replicas, { timeoutMs: 10_000 });
  const signal = kill ? 'SIGKILL' : 'SIGTERM';
  console.log(
    `local: leader is ${leader.identity} (lease transitions ${view.leaseTransitions}); sending ${signal}`,
  );
  const t0 = performance.now();
  const stopping = stopReplica(leader, signal);
  const others = s.replicas.filter((r) => r !== leader);
  const next = await waitForLeader(others, { timeoutMs: 60_000, not: leader.identity, pollMs: 20 });
  const ms = Math.round(performance.now() - t0);
  await stopping;
  console.log(
    `local: new leader ${next.view.identity} after ${ms} ms (lease transitions ${next.view.leaseTransitions})`,
  );
  // As a Deployment would: the old pod comes back, as a follower.
  const restarted = startReplica(s.stack, leader, {
    entry: ENTRY,
    detached: true,
    ...(leader.apiToken ? { env: authEnv(leader.apiToken) } : {}),
  });
  s.replicas = s.replicas.map((r) => (r.identity === leader.identity ? restarted : r));
  save(s);
  await waitReady(restarted);
  console.log(`local: ${leader.identity} restarted as a follower (pid ${restarted.pid})`);
  await printStatus(s);
}

const [cmd, flag] = process.argv.slice(2);
try {
  if (cmd === 'up') await up();
  else if (cmd === 'down') await down();
  else if (cmd === 'reset') await reset();
  else if (cmd === 'failover') await failover(flag === '--kill');
  else if (cmd === 'status') {
    const s = load();
    if (!s) fail('nothing is running: run `make local-up`');
    await printStatus(s);
  } else fail('usage: node scripts/local.ts up | down | reset | failover [--kill] | status');
} catch (err) {
  fail((err as Error).message);
}
