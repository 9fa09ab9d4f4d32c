// The chaos suite (issue 10): the faults of a bad week, each against three replica processes on
// servers of the suite's own, each judged at a webhook sink. Per fault, three every-second
// schedules (misfire fireOnce, skip, fireAll with a cap of CATCH_UP_CAP) must get every
// occurrence outside the fault's gap once, none twice, and from the gap what their policy
// promises (fireOnce one catch-up, skip none, fireAll the newest, capped); the API must answer
// every request within 2 s throughout. A table of what happened is printed at the end
// (`make chaos` runs this file alone).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signal } from '../../stack/processes.ts';
import { stack, uniqueName } from '../helpers/clients.ts';
import { CATCH_UP_CAP, ChaosCluster, LEASE_DURATION_MS } from './cluster.ts';
import { judge, ON_TIME_MS, type Policy, type Verdict } from './judge.ts';

const POLICIES: Policy[] = ['fireOnce', 'skip', 'fireAll'];
/** DESIGN.md: every API request answered within 2 s during a fault. */
const API_CONTRACT_MS = 2000;

interface Row {
  fault: string;
  verdicts: Record<Policy, Verdict>;
  recoverMs: number;
  apiMaxMs: number;
  apiSlow: number;
}

let c: ChaosCluster;
const rows: Row[] = [];

beforeAll(async () => {
  c = new ChaosCluster(`${stack().dir}/${uniqueName('chaos')}`);
  await c.start();
}, 180_000);

afterAll(async () => {
  await c?.close();
  if (rows.length === 0) return;
  const cell = (v: Verdict) => `${v.delivered}/${v.missed}/${v.duplicate}/${v.fromGap}`;
  const lines = [
    '| fault | fireOnce | skip | fireAll | recovered after | API max (slow) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${cell(r.verdicts.fireOnce)} | ${cell(r.verdicts.skip)} | ${cell(r.verdicts.fireAll)} | ${r.recoverMs} ms | ${Math.round(r.apiMaxMs)} ms (${r.apiSlow}) |`,
    ),
  ];
  console.log(
    `[chaos] per policy: delivered/missed/duplicate/catch-ups (expected: fireOnce 1 when the gap missed an occurrence, skip 0, fireAll up to ${CATCH_UP_CAP})\n${lines.join('\n')}`,
  );
}, 60_000);

/**
 * Runs one fault against three fresh every-second schedules and judges it. `inject` breaks
 * something and heals it, returning when the fault began; recovery is the first on-time
 * delivery after it returns.
 */
async function fault(
  name: string,
  inject: () => Promise<number>,
  opts: { path?: string; gaps?: number } = {},
): Promise<Row> {
  const slug = uniqueName(
    name
      .replace(/[^a-z0-9]+/gi, '-')
      .toLowerCase()
      .slice(0, 30),
  );
  const ids = {} as Record<Policy, string>;
  for (const policy of POLICIES) {
    const res = await c.api('/api/v1/schedules', {
      method: 'POST',
      body: JSON.stringify({
        name: `${slug}-${policy.toLowerCase()}`,
        schedule: { every: '1s' },
        action: {
          type: 'http',
          url: `${c.sink.url}${opts.path ?? '/hook'}`,
          method: 'POST',
          timeoutMs: 5000,
        },
        misfire: { policy, graceSeconds: 300 },
        concurrency: 'allow',
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    ids[policy] = ((await res.json()) as { id: string }).id;
  }
  const onTimeAfter = (id: string, t: number) =>
    c.sink.of(id).filter((d) => d.scheduledFor > t && d.receivedAt - d.scheduledFor <= ON_TIME_MS);
  const until = async (what: string, ok: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`${name}: ${what} within ${ms} ms`);
      await sleep(100);
    }
  };
  await until(
    'two on-time deliveries each before the fault',
    () => POLICIES.every((p) => onTimeAfter(ids[p], 0).length >= 2),
    30_000,
  );

  const probesFrom = c.probes.length;
  const start = await inject();
  const healed = Date.now();
  await until(
    'three on-time deliveries each after the fault',
    () => POLICIES.every((p) => onTimeAfter(ids[p], healed).length >= 3),
    90_000,
  );
  const recovered = Math.min(...POLICIES.map((p) => onTimeAfter(ids[p], healed)[0]!.scheduledFor));
  const probes = c.probes.slice(probesFrom);

  // The catch-ups the history records (the runs go with their schedule, so read them first).
  const catchUps = {} as Record<Policy, number[]>;
  for (const p of POLICIES) {
    const res = await c.api(`/api/v1/schedules/${ids[p]}/runs?limit=200`);
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: { trigger: string; scheduledFor: string }[] };
    catchUps[p] = items.filter((r) => r.trigger === 'catchup').map((r) => Date.parse(r.scheduledFor));
  }
  for (const p of POLICIES) {
    const del = await c.api(`/api/v1/schedules/${ids[p]}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
  }
  await sleep(2500); // deliveries still in flight land

  const verdicts = {} as Record<Policy, Verdict>;
  for (const p of POLICIES) {
    verdicts[p] = judge(c.sink.of(ids[p]), p, { start, recovered }, CATCH_UP_CAP, catchUps[p], opts.gaps);
  }
  const slow = probes.filter((p) => p.status === 'no answer' || p.ms >= API_CONTRACT_MS);
  const row: Row = {
    fault: name,
    verdicts,
    recoverMs: Math.max(0, recovered - healed),
    apiMaxMs: Math.max(0, ...probes.map((p) => p.ms)),
    apiSlow: slow.length,
  };
  rows.push(row);
  for (const p of POLICIES) expect(verdicts[p].problems, `${name}, ${p}`).toEqual([]);
  expect(slow, `${name}: API requests not answered within ${API_CONTRACT_MS} ms`).toEqual([]);
  return row;
}

const hold = (ms: number) => sleep(ms);

describe('chaos: three replicas, one fault at a time, judged at the sink', () => {
  it('MongoDB SIGKILL, restarted on the same data after 10 s', { timeout: 180_000 }, async () => {
    await fault('MongoDB killed 10 s', async () => {
      const t = Date.now();
      await c.mongoKill();
      await hold(10_000);
      await c.mongoRestart();
      return t;
    });
  });

  it('MongoDB SIGKILL, restarted on the same data after 60 s', { timeout: 240_000 }, async () => {
    await fault('MongoDB killed 60 s', async () => {
      const t = Date.now();
      await c.mongoKill();
      await hold(60_000);
      await c.mongoRestart();
      return t;
    });
  });

  it('MongoDB frozen (SIGSTOP) 20 s', { timeout: 180_000 }, async () => {
    await fault('MongoDB frozen 20 s', async () => {
      const t = Date.now();
      c.mongoSignal('SIGSTOP');
      try {
        await hold(20_000);
      } finally {
        c.mongoSignal('SIGCONT');
      }
      return t;
    });
  });

  it('kube-apiserver frozen (SIGSTOP) 30 s', { timeout: 180_000 }, async () => {
    await fault('kube-apiserver frozen 30 s', async () => {
      const t = Date.now();
      c.apiServerSignal('SIGSTOP');
      try {
        await hold(30_000);
      } finally {
        c.apiServerSignal('SIGCONT');
      }
      return t;
    });
  });

  it('kube-apiserver SIGKILL and restart', { timeout: 180_000 }, async () => {
    await fault('kube-apiserver killed, restarted', async () => {
      const t = Date.now();
      await c.apiServerKill();
      await hold(5_000);
      await c.apiServerRestart();
      return t;
    });
  });

  it('the leader frozen (SIGSTOP) 20 s: the others take over; it fires nothing when it wakes', {
    timeout: 180_000,
  }, async () => {
    await fault('leader frozen 20 s', async () => {
      const leader = await c.leader();
      c.unavailable.add(leader.identity);
      const t = Date.now();
      signal(leader, 'SIGSTOP');
      try {
        await hold(20_000);
      } finally {
        signal(leader, 'SIGCONT');
      }
      await hold(1000);
      c.unavailable.delete(leader.identity);
      return t;
    });
  });

  it('the leader alone cut off from MongoDB hands over within lease duration + 5 s', {
    timeout: 180_000,
  }, async () => {
    let handover = 0;
    await fault('leader cut off from MongoDB', async () => {
      const leader = await c.leader();
      const proxy = c.proxies.get(leader.identity)!;
      const t = Date.now();
      proxy.set('blackhole');
      try {
        const deadline = t + LEASE_DURATION_MS + 5000;
        for (;;) {
          const next = await c.leader(Math.max(1, deadline - Date.now())).catch(() => null);
          if (next && next.identity !== leader.identity) break;
          if (Date.now() > deadline) throw new Error('no hand-over within lease duration + 5 s');
          await sleep(100);
        }
        handover = Date.now() - t;
        await hold(5_000);
      } finally {
        proxy.set('pass');
      }
      return t;
    });
    console.log(`[chaos] leader cut off from MongoDB: another replica led after ${handover} ms`);
  });

  it('a malformed document inserted straight into schedules idles only itself', {
    timeout: 120_000,
  }, async () => {
    await fault('malformed schedule document', async () => {
      const t = Date.now();
      await c.insertRaw({ _id: uniqueName('poison'), name: uniqueName('poison'), version: 1 });
      await hold(5_000);
      return t;
    });
  });

  it('a rolling restart (SIGTERM each replica in turn) while 2 s webhooks are in flight', {
    timeout: 240_000,
  }, async () => {
    await fault(
      'rolling restart, 2 s webhooks',
      async () => {
        const t = Date.now();
        for (const r of [...c.replicas]) {
          await c.restartReplica(r, 'SIGTERM');
          await c.leader();
          await hold(2_000);
        }
        return t;
      },
      // Each hand-over drains first: what falls due meanwhile is caught up by the next leader,
      // so each of the three restarts may open a gap of its own (docs/shutdown.md).
      { path: '/slow', gaps: 3 },
    );
  });
});
