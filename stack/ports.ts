// Ports for the servers the tests and `make local-up` start as child processes.
//
// Why not "bind port 0, read it, close, hand it to the child": port 0 lands in the kernel's
// ephemeral range (32768-60999 here), which every outgoing connection on the machine also draws
// from. Between our close and the child's bind, any connect() — a driver's pool, kube-apiserver
// dialling etcd — may take that port as its local port, and the child dies with EADDRINUSE
// (seen in failover.int.test.ts). So ports come from a range below the ephemeral one, and a
// lock file per port (O_EXCL, holding the allocating pid) keeps two allocators — vitest workers,
// a `make local-up` beside `make test` — from handing out the same port in that window.
// Servers a test starts in its own process keep binding 0: they hold the port from the start.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where our ports come from unless the machine's ephemeral range overlaps it. */
export const PORT_RANGE = { low: 20_000, high: 29_999 } as const;
export const LOCK_DIR = join(tmpdir(), 'leasecron-ports');

/** The kernel's ephemeral range (Linux), or the IANA one where /proc does not say. */
export function ephemeralRange(
  read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
): { low: number; high: number } {
  try {
    const [low, high] = read().trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low: low!, high: high! };
  } catch {
    // not Linux
  }
  return { low: 49_152, high: 65_535 };
}

/** The larger part of `range` that lies outside the ephemeral range; throws when nothing is left. */
export function usableRange(
  range: { low: number; high: number },
  ephemeral: { low: number; high: number },
): { low: number; high: number } {
  if (ephemeral.high < range.low || ephemeral.low > range.high) return range;
  const below = { low: range.low, high: Math.min(range.high, ephemeral.low - 1) };
  const above = { low: Math.max(range.low, ephemeral.high + 1), high: range.high };
  const size = (r: { low: number; high: number }) => r.high - r.low + 1;
  const best = size(above) > size(below) ? above : below;
  if (size(best) <= 0) {
    throw new Error(
      `the ephemeral port range ${ephemeral.low}-${ephemeral.high} covers the test port range ${range.low}-${range.high}`,
    );
  }
  return best;
}

export function isEphemeral(port: number, ephemeral = ephemeralRange()): boolean {
  return port >= ephemeral.low && port <= ephemeral.high;
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `port` for this process; a lock whose process is gone is taken over. */
function lock(port: number): boolean {
  const file = join(LOCK_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        // removed meanwhile: try again
      }
      // A fresh lock may be empty for a moment; only a dead owner's lock is stale.
      if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

/**
 * `count` free loopback ports outside the ephemeral range, consecutive when asked (the local
 * replicas' APIs sit side by side). Each is bindable on 127.0.0.1 at the time of the call and
 * locked against other allocators while this process lives; a lock left by a process that has
 * gone is stale, and by then the port is either bound by its server or free again.
 */
export async function allocatePorts(
  count: number,
  opts: { consecutive?: boolean; range?: { low: number; high: number } } = {},
): Promise<number[]> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const { low, high } = usableRange(opts.range ?? PORT_RANGE, ephemeralRange());
  const span = high - low + 1 - (opts.consecutive ? count - 1 : 0);
  const start = Math.floor(Math.random() * span);
  const got: number[] = [];
  for (let i = 0; i < span && got.length < count; i++) {
    const first = low + ((start + i) % span);
    const want = opts.consecutive ? Array.from({ length: count }, (_, k) => first + k) : [first];
    const taken: number[] = [];
    let ok = true;
    for (const port of want) {
      if (!lock(port)) {
        ok = false;
        break;
      }
      taken.push(port);
      if (!(await bindable(port, '127.0.0.1'))) {
        ok = false;
        break;
      }
    }
    if (ok) got.push(...taken);
    else for (const port of taken) rmSync(join(LOCK_DIR, String(port)), { force: true });
  }
  if (got.length < count) throw new Error(`no ${count} free loopback port(s) in ${low}-${high}`);
  return got;
}

/**
 * Takes `port` again for a server that had it before (`make local-up` keeps its ports across a
 * restart): true when it is outside the ephemeral range, not locked by another allocator and
 * bindable on 127.0.0.1 now; the lock is then held as allocatePorts holds its own.
 */
export async function reservePort(port: number): Promise<boolean> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || isEphemeral(port)) return false;
  mkdirSync(LOCK_DIR, { recursive: true });
  if (!lock(port)) return false;
  if (await bindable(port, '127.0.0.1')) return true;
  rmSync(join(LOCK_DIR, String(port)), { force: true });
  return false;
}

export async function freePort(): Promise<number> {
  const [port] = await allocatePorts(1);
  return port!;
}
