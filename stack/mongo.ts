// The MongoDB-protocol server for tests: MONGODB_URI if set (any real replica
// set), else `mongod` on PATH as a one-node replica set, else SecantusDB from
// the cache folder. Change streams need a replica set in every case.
//
// Background activity is made eager, not left to chance: the TTL monitor sweeps every second
// (mongod and SecantusDB default to 60 s), so a test whose data expires fails at once and
// every time rather than at a random row. SecantusDB 0.7.0b3 accepts `ttl_sweep_seconds` in its
// config file but its command line never passes it on, so for it the stack sends its own
// `secantusAdmin.pruneTtl` command (the same sweep, on demand) every second instead. `clockOffsetDays` runs the server's clock ahead
// (libfaketime): the suite's date check runs tests that pin a clock against a database that
// lives a year in the future, which is what any day after their dates looks like to a TTL.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort } from './ports.ts';
import { type Managed, startProcess, waitFor } from './processes.ts';

export interface MongoInfo {
  uri: string;
  server: string;
  /** the port of a server started here (none for MONGODB_URI) */
  port?: number;
}

export interface StartedMongo {
  info: MongoInfo;
  procs: Managed[];
  /** stops what runs in this process for the server (the TTL sweep); the server is in procs */
  stop?: () => Promise<void>;
}

/** Runs SecantusDB's TTL sweep every `everyMs` from this process until stopped. */
function sweepTtl(uri: string, everyMs: number): () => Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
  let stopped = false;
  let pending: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    pending = client
      .db('admin')
      .command({ 'secantusAdmin.pruneTtl': 1 })
      .catch(() => undefined); // a server that is down for a test's fault injection is no error here
  }, everyMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await pending;
    await client.close(true);
  };
}

export function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

async function ping(uri: string, timeoutMs: number): Promise<{ version: string; setName?: string }> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    const hello = await client.db('admin').command({ hello: 1 });
    const build = await client.db('admin').command({ buildInfo: 1 });
    return { version: String(build.version ?? '?'), setName: hello.setName as string | undefined };
  } finally {
    await client.close();
  }
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The seconds between TTL sweeps of the servers the tests start. */
export const TTL_SWEEP_SECONDS = 1;

const FAKETIME_LIBS = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/local/lib/faketime/libfaketime.so.1',
];

/** Environment that runs a child's wall clock `days` ahead (libfaketime from Debian's libfaketime). */
export function clockAheadEnv(env: NodeJS.ProcessEnv, days: number): NodeJS.ProcessEnv {
  if (days === 0) return env;
  const lib = env.LEASECRON_FAKETIME_LIB ?? FAKETIME_LIBS.find((f) => existsSync(f));
  if (!lib || !existsSync(lib)) {
    throw new Error(
      `moving the database clock ${days} days ahead needs libfaketime (looked for ${FAKETIME_LIBS.join(', ')}); ` +
        "run `bash scripts/provision-stack.sh` (it installs Debian's libfaketime) or set LEASECRON_FAKETIME_LIB",
    );
  }
  return { ...env, LD_PRELOAD: lib, FAKETIME: `+${days}d`, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

export async function startMongo(
  dir: string,
  opts: {
    env: NodeJS.ProcessEnv;
    secantusVenv: string | null;
    detached?: boolean;
    /** run the server's wall clock this many days ahead (0: the real clock) */
    clockOffsetDays?: number;
    /** listen here (a restart on the same data and address); default: a freshly allocated port. The data in `dir` is kept either way */
    port?: number;
    /** SecantusDB only (e.g. `--auth`): the server must be one this helper starts */
    secantusArgs?: string[];
  },
): Promise<StartedMongo> {
  const offset = opts.clockOffsetDays ?? 0;
  // A server whose clock we move must be one we start: the date check ignores MONGODB_URI.
  // So must one started with SecantusDB's own arguments.
  const given = offset === 0 && !opts.secantusArgs ? opts.env.MONGODB_URI : undefined;
  if (given) {
    try {
      const r = await ping(given, 5000);
      if (!r.setName) {
        throw new Error(
          'it is not a replica set member (change streams need one): start mongod with --replSet',
        );
      }
      return {
        info: { uri: given, server: `external MongoDB ${r.version} (replica set ${r.setName})` },
        procs: [],
      };
    } catch (err) {
      throw new Error(
        `MONGODB_URI=${redact(given)} did not answer as a replica set: ${(err as Error).message}. ` +
          'Fix the URI, or unset MONGODB_URI to let the tests start their own server.',
      );
    }
  }
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const uri = `mongodb://127.0.0.1:${port}/?directConnection=true`;
  const mongod = opts.secantusArgs ? null : which('mongod');
  if (mongod) {
    mkdirSync(join(dir, 'mongod-data'), { recursive: true });
    const proc = startProcess(
      'mongod',
      mongod,
      [
        '--replSet',
        'rs0',
        '--bind_ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--dbpath',
        join(dir, 'mongod-data'),
        '--setParameter',
        `ttlMonitorSleepSecs=${TTL_SWEEP_SECONDS}`,
      ],
      { logFile: join(dir, 'mongod.log'), detached: opts.detached, env: clockAheadEnv(process.env, offset) },
    );
    await waitFor('mongod', async () => (await ping(uri, 1000)) !== undefined, { timeoutMs: 30_000, proc });
    const client = new MongoClient(uri);
    try {
      // A data folder from a previous run (`make local-up` after `make local-down`) holds the
      // replica set's config already; it was written with this same port (kept in the state folder).
      const hello = await client.db('admin').command({ hello: 1 });
      if (!hello.setName) {
        await client
          .db('admin')
          .command({ replSetInitiate: { _id: 'rs0', members: [{ _id: 0, host: `127.0.0.1:${port}` }] } })
          .catch((err: { code?: number }) => {
            if (err.code !== 23) throw err; // AlreadyInitialized
          });
      }
    } finally {
      await client.close();
    }
    await waitFor(
      'mongod primary',
      async () => {
        const c = new MongoClient(uri);
        try {
          return (await c.db('admin').command({ hello: 1 })).isWritablePrimary === true;
        } finally {
          await c.close();
        }
      },
      { timeoutMs: 30_000, proc },
    );
    const r = await ping(uri, 2000);
    return {
      info: {
        uri,
        port,
        server: `mongod ${r.version} (one-node replica set${offset === 0 ? '' : `, clock ${offset} days ahead`})`,
      },
      procs: [proc],
    };
  }
  const venv = opts.secantusVenv;
  const python = venv ? join(venv, 'bin', 'python') : '';
  if (!venv || !which(python)) {
    throw new Error(
      'No MongoDB server: MONGODB_URI is unset, no mongod on PATH, and SecantusDB is not provisioned. ' +
        'Run `bash scripts/provision-stack.sh` (or `make setup`).',
    );
  }
  const proc = startProcess(
    'secantus',
    python,
    [
      '-m',
      'secantus',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--storage-path',
      join(dir, 'secantus-data'),
      '--log-level',
      'WARNING',
      ...(opts.secantusArgs ?? []),
    ],
    { logFile: join(dir, 'secantus.log'), detached: opts.detached, env: clockAheadEnv(process.env, offset) },
  );
  await waitFor('SecantusDB', async () => (await ping(uri, 1000)) !== undefined, { timeoutMs: 60_000, proc });
  const r = await ping(uri, 2000);
  const ahead = offset === 0 ? '' : `, clock ${offset} days ahead`;
  return {
    info: {
      uri,
      port,
      server: `SecantusDB ${venv.replace(/.*secantus-/, '')} (reports MongoDB ${r.version}, replica set ${r.setName}${ahead})`,
    },
    procs: [proc],
    // A detached stack (make local-up) outlives this process: it keeps SecantusDB's own 60 s sweep.
    ...(opts.detached ? {} : { stop: sweepTtl(uri, TTL_SWEEP_SECONDS * 1000) }),
  };
}
