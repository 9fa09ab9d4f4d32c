// `make fuzz`: schemathesis (PyPI, provisioned into the cache by scripts/provision-stack.sh)
// generates requests from GET /openapi.json and checks every answer against the same document:
// no 5xx, status codes, content types, headers and bodies as documented, and that what the
// schema allows is accepted and what it forbids refused. Against one replica process (the
// leader, AUTH=token) on the real local stack, in a folder of its own under .local/fuzz/.
//   node scripts/fuzz.ts [--max-examples=N] [extra schemathesis arguments…]
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../stack/ports.ts';
import { startReplica, stopReplica, waitForLeader, waitReady } from '../stack/replicas.ts';
import { REPO_ROOT, startStack } from '../stack/stack.ts';

const provision = spawnSync('bash', [join(REPO_ROOT, 'scripts/provision-stack.sh'), 'schemathesis'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
});
const st = provision.stdout
  .split('\n')
  .find((l) => l.startsWith('SCHEMATHESIS='))
  ?.slice('SCHEMATHESIS='.length);
if (provision.status !== 0 || !st) {
  console.error('fuzz: schemathesis could not be provisioned (scripts/provision-stack.sh schemathesis)');
  process.exit(2);
}

const args = process.argv.slice(2);
const maxExamples = args.find((a) => a.startsWith('--max-examples='))?.split('=')[1] ?? '25';
const extra = args.filter((a) => !a.startsWith('--max-examples='));

const dir = join(REPO_ROOT, '.local', 'fuzz');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const t0 = Date.now();
const { info, stop } = await startStack({ dir: join(dir, 'stack') });
console.log(`fuzz: stack ready in ${info.startMs} ms (${info.mongo.server}); logs in ${dir}`);

const token = randomBytes(24).toString('hex');
const replica = startReplica(
  info,
  { identity: 'fuzz-0', port: await freePort(), logFile: join(dir, 'fuzz-0.log'), apiToken: token },
  {
    entry: 'src/main.ts',
    env: {
      AUTH: 'token',
      API_TOKEN: token,
      MONGODB_DB: 'fuzz',
      POD_NAMESPACE: 'default', // exists on a fresh API server
      LEASE_DURATION_SECONDS: '3',
      RENEW_DEADLINE_SECONDS: '2',
      RETRY_PERIOD_SECONDS: '0.5',
    },
  },
);
let code = 1;
try {
  await waitReady(replica);
  await waitForLeader([replica], { timeoutMs: 30_000 });
  const base = `http://127.0.0.1:${replica.port}`;
  console.log(`fuzz: replica fuzz-0 leads at ${base}; schemathesis, ${maxExamples} examples per operation`);
  const stArgs = [
    '--config-file',
    join(REPO_ROOT, 'scripts', 'schemathesis.toml'),
    'run',
    `${base}/openapi.json`,
    '--url',
    base,
    '--header',
    `Authorization: Bearer ${token}`,
    '--max-examples',
    maxExamples,
    '--seed',
    '1',
    '--report',
    'junit',
    '--report-dir',
    dir,
    '--generation-database',
    'none',
    '--no-color',
    ...extra,
  ];
  code = await new Promise<number>((resolve) => {
    // in the run's folder: schemathesis keeps a .schemathesis/ cache where it runs
    const child = spawn(st, stArgs, { cwd: dir, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } });
    child.on('close', (c) => resolve(c ?? 1));
  });
} finally {
  await stopReplica(replica, 'SIGTERM');
  await stop();
  for (const data of ['stack/kube/etcd-data', 'stack/mongo/secantus-data', 'stack/mongo/mongod-data'])
    rmSync(join(dir, data), { recursive: true, force: true });
}
console.log(
  `fuzz: ${code === 0 ? 'passed' : `failed (schemathesis exit ${code})`} in ${Math.round((Date.now() - t0) / 1000)} s`,
);
process.exit(code);
