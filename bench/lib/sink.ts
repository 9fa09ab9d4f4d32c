// A webhook sink on 127.0.0.1 in a child process of its own, so the benchmark's leader
// neither shares its event loop with it (arrival times are not delayed by the leader's
// work, only by the shared CPUs) nor counts its memory and CPU as the leader's.
// Each request is recorded as [path, Idempotency-Key, arrival epoch ms (sub-ms)].
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export type Hit = [path: string, key: string, at: number];

type FromChild = { type: 'listening'; port: number } | { type: 'hits'; hits: Hit[] };

export interface Sink {
  /** base URL; actions post to `${url}/<anything>` */
  url: string;
  /** every request received since the last take, and forgets them */
  take(): Promise<Hit[]>;
  stop(): Promise<void>;
}

const CHILD_FLAG = '--bench-sink-child';

export async function startSinkProcess(): Promise<Sink> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T extends FromChild['type']>(type: T) =>
    new Promise<Extract<FromChild, { type: T }>>((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<FromChild, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`sink process exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { port } = await next('listening');
  return {
    url: `http://127.0.0.1:${port}/hook`,
    async take() {
      const reply = next('hits');
      child.send({ type: 'take' });
      return (await reply).hits;
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

if (process.argv[2] === CHILD_FLAG && process.send) {
  let hits: Hit[] = [];
  const now = () => performance.timeOrigin + performance.now();
  const server = createServer((req, res) => {
    hits.push([req.url ?? '', String(req.headers['idempotency-key']), now()]);
    req.resume();
    res.end('ok');
  });
  server.listen(0, '127.0.0.1', () =>
    process.send!({ type: 'listening', port: (server.address() as AddressInfo).port }),
  );
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'take') return;
    const out = hits;
    hits = [];
    process.send!({ type: 'hits', hits: out });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
