// The test stack's port allocator: never a port of the kernel's ephemeral range (an outgoing
// connection could take it before our child binds it), never the same port twice while the
// allocating process lives.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allocatePorts,
  ephemeralRange,
  isEphemeral,
  LOCK_DIR,
  PORT_RANGE,
  reservePort,
  usableRange,
} from '../../stack/ports.ts';

describe('usableRange', () => {
  it.each([
    ['disjoint (Linux default 32768-60999)', { low: 32_768, high: 60_999 }, { low: 20_000, high: 29_999 }],
    ['overlapping the top', { low: 25_000, high: 60_999 }, { low: 20_000, high: 24_999 }],
    ['overlapping the bottom', { low: 1024, high: 21_000 }, { low: 21_001, high: 29_999 }],
    ['inside it (the larger side is kept)', { low: 22_000, high: 23_000 }, { low: 23_001, high: 29_999 }],
  ])('%s', (_name, ephemeral, want) => {
    expect(usableRange(PORT_RANGE, ephemeral)).toEqual(want);
  });

  it('refuses an ephemeral range that covers all of ours', () => {
    expect(() => usableRange(PORT_RANGE, { low: 1024, high: 65_535 })).toThrow(/covers the test port range/);
  });

  it('reads the kernel range, and falls back to IANA where /proc has none', () => {
    expect(ephemeralRange(() => '32768\t60999\n')).toEqual({ low: 32_768, high: 60_999 });
    expect(
      ephemeralRange(() => {
        throw new Error('ENOENT');
      }),
    ).toEqual({ low: 49_152, high: 65_535 });
  });
});

describe('allocatePorts', () => {
  it('hands out distinct, bindable ports outside the ephemeral range, even to concurrent callers', async () => {
    const batches = await Promise.all(Array.from({ length: 10 }, () => allocatePorts(5)));
    const ports = batches.flat();
    expect(new Set(ports).size).toBe(50);
    for (const p of ports) expect(isEphemeral(p), `port ${p}`).toBe(false);
  });

  it('gives consecutive ports when asked', async () => {
    const [a, b, c] = await allocatePorts(3, { consecutive: true });
    expect([b! - a!, c! - a!]).toEqual([1, 2]);
  });

  it('skips a port something listens on, and takes over the lock of a process that is gone', async () => {
    const [port] = await allocatePorts(1);
    const only = { range: { low: port!, high: port! } };
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    writeFileSync(join(LOCK_DIR, String(port)), dead);
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    try {
      await expect(allocatePorts(1, only)).rejects.toThrow(/no 1 free loopback port/);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    writeFileSync(join(LOCK_DIR, String(port)), dead);
    expect(await allocatePorts(1, only)).toEqual([port]);
  });

  it('does not hand out a port whose lock a live process holds', async () => {
    const [port] = await allocatePorts(1);
    await expect(allocatePorts(1, { range: { low: port!, high: port! } })).rejects.toThrow(/no 1 free/);
  });
});

describe('reservePort (make local-up taking its ports of the last run again)', () => {
  const deadPid = () =>
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
      .stdout;

  it('takes a free port whose lock a process that is gone left, and then holds it', async () => {
    const [port] = await allocatePorts(1);
    writeFileSync(join(LOCK_DIR, String(port)), deadPid());
    expect(await reservePort(port!)).toBe(true);
    await expect(allocatePorts(1, { range: { low: port!, high: port! } })).rejects.toThrow(/no 1 free/);
  });

  it('refuses a port something listens on, one a live allocator holds, and an ephemeral one', async () => {
    const [bound, held] = await allocatePorts(2);
    writeFileSync(join(LOCK_DIR, String(bound)), deadPid());
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(bound, '127.0.0.1', r));
    try {
      expect(await reservePort(bound!)).toBe(false);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    writeFileSync(join(LOCK_DIR, String(held)), String(process.ppid));
    expect(await reservePort(held!)).toBe(false);
    expect(await reservePort(ephemeralRange().low)).toBe(false);
    expect(await reservePort(0)).toBe(false);
  });
});
