// The MongoDB-protocol server for tests: MONGODB_URI if set (any real replica
// set), else `mongod` on PATH as a one-node replica set, else SecantusDB from
// the cache folder. Change streams need a replica set in every case.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort, type Managed, startProcess, waitFor } from './processes.ts';

export interface MongoInfo {
  uri: string;
  server: string;
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

export async function startMongo(
  dir: string,
  opts: { env: NodeJS.ProcessEnv; secantusVenv: string | null; detached?: boolean },
): Promise<{ info: MongoInfo; procs: Managed[] }> {
  const given = opts.env.MONGODB_URI;
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
  const port = await freePort();
  const uri = `mongodb://127.0.0.1:${port}/?directConnection=true`;
  const mongod = which('mongod');
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
      ],
      { logFile: join(dir, 'mongod.log'), detached: opts.detached },
    );
    await waitFor('mongod', async () => (await ping(uri, 1000)) !== undefined, { timeoutMs: 30_000, proc });
    const client = new MongoClient(uri);
    try {
      await client.db('admin').command({
        replSetInitiate: { _id: 'rs0', members: [{ _id: 0, host: `127.0.0.1:${port}` }] },
      });
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
    return { info: { uri, server: `mongod ${r.version} (one-node replica set)` }, procs: [proc] };
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
    ],
    { logFile: join(dir, 'secantus.log'), detached: opts.detached },
  );
  await waitFor('SecantusDB', async () => (await ping(uri, 1000)) !== undefined, { timeoutMs: 60_000, proc });
  const r = await ping(uri, 2000);
  return {
    info: {
      uri,
      server: `SecantusDB ${venv.replace(/.*secantus-/, '')} (reports MongoDB ${r.version}, replica set ${r.setName})`,
    },
    procs: [proc],
  };
}
