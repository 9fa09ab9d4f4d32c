// A TCP pass-through on loopback whose link a test can break and heal, to cut one process off
// from a server while the others still reach it (a partition, not an outage):
//   pass       bytes flow both ways
//   blackhole  bytes are dropped and new connections are accepted but never answered: requests
//              hang, as behind a partition or a dropped route (no error comes back)
//   refuse     every connection is reset at once (a closed port, a firewall that rejects)
// Going back to `pass` drops the connections that were blackholed, as a healed network would
// leave them timed out, so clients reconnect.
import { connect, createServer, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'refuse';

export interface TcpProxy {
  readonly port: number;
  readonly mode: ProxyMode;
  set(mode: ProxyMode): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  const links = new Set<{ client: Socket; upstream: Socket | null; blackholed: boolean }>();
  const server = createServer((client) => {
    client.on('error', () => {});
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const link = { client, upstream: null as Socket | null, blackholed: mode === 'blackhole' };
    links.add(link);
    client.on('close', () => {
      link.upstream?.destroy();
      links.delete(link);
    });
    if (link.blackholed) return; // accepted, never answered
    const upstream = connect(target.port, target.host);
    link.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (d) => {
      if (mode === 'pass' && !link.blackholed) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (mode === 'pass' && !link.blackholed) client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    get mode() {
      return mode;
    },
    set(next: ProxyMode) {
      if (next === mode) return;
      if (next === 'blackhole') for (const l of links) l.blackholed = true;
      if (next === 'refuse') for (const l of links) l.client.resetAndDestroy();
      if (next === 'pass') for (const l of links) if (l.blackholed) l.client.destroy();
      mode = next;
    },
    async close() {
      for (const l of links) l.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
