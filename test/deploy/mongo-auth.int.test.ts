// MongoDB with access control (issue 11, manifests): deploy/ gives leasecron a SCRAM user of its
// own and passes its password as MONGODB_PASSWORD beside MONGODB_USERNAME, so the connection string
// in the ConfigMap carries no secret. Here a dedicated SecantusDB runs with --auth (users provisioned
// first without it, as its documentation says), and a real replica process must serve the API and
// fire schedules through the change stream with those credentials, and refuse to become ready with
// a wrong password.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedMongo, startMongo } from '../../stack/mongo.ts';
import { freePort } from '../../stack/ports.ts';
import { stopProcess } from '../../stack/processes.ts';
import { type Replica, startReplica, stopReplica, waitForLeader, waitReady } from '../../stack/replicas.ts';
import { provisionMongo } from '../../stack/stack.ts';
import { createNamespace, stack, uniqueName } from '../helpers/clients.ts';

const PASSWORD = 'a-generated-password-0123456789';
const DB = 'leasecron';
let mongo: StartedMongo;
let dir: string;
const replicas: Replica[] = [];

async function startServer(args: string[], port?: number): Promise<StartedMongo> {
  const { secantusVenv } = provisionMongo();
  const { MONGODB_URI: _shared, ...env } = process.env;
  return startMongo(join(dir, 'mongo'), {
    env,
    secantusVenv,
    secantusArgs: args,
    ...(port === undefined ? {} : { port }),
  });
}

async function stopServer(m: StartedMongo): Promise<void> {
  await m.stop?.();
  await Promise.all(m.procs.map((p) => stopProcess(p)));
}

beforeAll(async () => {
  dir = join(stack().dir, uniqueName('mongo-auth'));
  mkdirSync(dir, { recursive: true });
  // Provision the user on a server without access control, then restart it with --auth.
  const open = await startServer([]);
  const port = Number(new URL(open.info.uri).port);
  const client = new MongoClient(open.info.uri);
  try {
    await client
      .db(DB)
      .command({ createUser: 'leasecron', pwd: PASSWORD, roles: [{ role: 'readWrite', db: DB }] });
  } finally {
    await client.close();
  }
  await stopServer(open);
  mongo = await startServer(['--auth'], port);
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
  if (mongo) await stopServer(mongo);
});

async function replicaWith(env: Record<string, string>, name: string): Promise<Replica> {
  const port = await freePort();
  const replica = startReplica(
    { ...stack(), mongo: { ...mongo.info, uri: `${mongo.info.uri}&authSource=${DB}` } },
    { identity: name, port, logFile: join(dir, `${name}.log`) },
    {
      entry: 'src/main.ts',
      env: { POD_NAMESPACE: await createNamespace('mongo-auth'), MONGODB_DB: DB, ...env },
    },
  );
  replicas.push(replica);
  return replica;
}

describe('MongoDB with SCRAM users', () => {
  it('the server really requires a login', async () => {
    const anonymous = new MongoClient(mongo.info.uri, { serverSelectionTimeoutMS: 3000 });
    try {
      await expect(anonymous.db(DB).collection('schedules').findOne({})).rejects.toSatisfy(
        (e) => e instanceof MongoServerError && e.code === 13,
      );
    } finally {
      await anonymous.close();
    }
  });

  it('leasecron serves and fires with MONGODB_USERNAME / MONGODB_PASSWORD', async () => {
    const replica = await replicaWith(
      { MONGODB_USERNAME: 'leasecron', MONGODB_PASSWORD: PASSWORD },
      'scram-0',
    );
    await waitReady(replica);
    await waitForLeader([replica], { timeoutMs: 30_000 });
    const base = `http://127.0.0.1:${replica.port}`;
    const created = await fetch(`${base}/api/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'with-scram', schedule: { every: '1s' }, action: { type: 'log' } }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // Claimed runs prove the change stream, the claims and the counters all work under auth.
    await expect
      .poll(
        async () => {
          const runs = (await (await fetch(`${base}/api/v1/schedules/${id}/runs`)).json()) as {
            items: { status: string }[];
          };
          return runs.items.filter((r) => r.status === 'succeeded').length;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(2);
  });

  it('a wrong password never becomes ready, and says why', async () => {
    const replica = await replicaWith(
      { MONGODB_USERNAME: 'leasecron', MONGODB_PASSWORD: 'wrong' },
      'scram-bad',
    );
    await expect(waitReady(replica, 8000)).rejects.toThrow();
    const ready = await fetch(`http://127.0.0.1:${replica.port}/readyz`);
    expect(ready.status).toBe(503);
    expect(readFileSync(replica.logFile, 'utf8')).toMatch(/Authentication failed/i);
    expect(readFileSync(replica.logFile, 'utf8')).not.toContain('not-the-password-42');
  });
});
