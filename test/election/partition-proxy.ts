// A TCP pass-through in front of the real API server that can be cut: after cut(), bytes on open
// connections are dropped and new connections are accepted but never answered, so requests hang
// as they do behind a network partition or a wedged API server (no error comes back).
import { connect, createServer, type Socket } from 'node:net';

export interface PartitionProxy {
  /** https://127.0.0.1:<port>, to use as the cluster server with skipTLSVerify. */
  readonly url: string;
  cut(): void;
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `https://127.0.0.1:${address.port}`,
    cut: () => {
      cut = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
