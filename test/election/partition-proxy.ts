// A TCP pass-through in front of a real server (the API server, MongoDB) that can be broken in the
// two ways networks break, and healed:
// - blackhole (cut): bytes on open connections are dropped and new connections are accepted but
//   never answered, so requests hang as they do behind a partition or a wedged server;
// - refuse: open connections are reset and the port stops listening, so connecting fails at once
//   with ECONNREFUSED, as when the server is down or a firewall rejects.
// heal() lets new connections through again; connections broken meanwhile stay broken.
import { connect, createServer, type Socket } from 'node:net';

export interface PartitionProxy {
  /** https://127.0.0.1:<port>, to use as the cluster server with skipTLSVerify. */
  readonly url: string;
  /** 127.0.0.1:<port>, e.g. for a mongodb:// URI. */
  readonly hostPort: string;
  /** Blackhole: everything hangs. */
  cut(): void;
  /** Every connection is refused. */
  refuse(): Promise<void>;
  /** Pass traffic again (new connections). */
  heal(): Promise<void>;
  close(): Promise<void>;
}

export async function startPartitionProxy(target: string): Promise<PartitionProxy> {
  const { hostname, port } = new URL(target);
  let cut = false;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const server = createServer((client) => {
    track(client);
    if (cut) return;
    const upstream = connect(Number(port), hostname);
    track(upstream);
    client.on('data', (d) => {
      if (!cut) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!cut) client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  // A server in the test's own process may bind 0: it holds the port from then on.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const listenPort = address.port;
  const listening = () => server.listening;
  const stopListening = () =>
    new Promise<void>((resolve) => (listening() ? server.close(() => resolve()) : resolve()));
  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    url: `https://127.0.0.1:${listenPort}`,
    hostPort: `127.0.0.1:${listenPort}`,
    cut: () => {
      cut = true;
    },
    refuse: async () => {
      cut = true;
      const closed = stopListening();
      resetAll();
      await closed;
    },
    heal: async () => {
      cut = false;
      if (listening()) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listenPort, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await stopListening();
    },
  };
}
