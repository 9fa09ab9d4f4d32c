import { describe, expect, it } from 'vitest';
import { buildInfo, createMetrics, streamLagSeconds } from './metrics.ts';

const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };

describe('leasecron_build_info', () => {
  it('says the version from package.json, the revision given and the Node running it', () => {
    expect(buildInfo('abc1234')).toEqual({
      version: pkg.version,
      revision: 'abc1234',
      node: process.version,
    });
    expect(buildInfo(undefined).revision).toBe('unknown');
    expect(buildInfo('').revision).toBe('unknown');
  });

  it('is exported as 1 with those labels', async () => {
    const m = createMetrics({ build: { version: '1.2.3', revision: 'deadbeef', node: 'v24.0.0' } });
    expect(await m.registry.metrics()).toMatch(
      /^leasecron_build_info\{version="1\.2\.3",revision="deadbeef",node="v24\.0\.0"\} 1$/m,
    );
  });
});

describe('streamLagSeconds', () => {
  it('is the time from the commit to now, in seconds, never negative', () => {
    const at = new Date('2026-01-01T00:00:00.000Z');
    expect(streamLagSeconds(at, at.getTime() + 250)).toBe(0.25);
    expect(streamLagSeconds(at, at.getTime() - 1000)).toBe(0); // clocks a little apart
  });
});

describe('Lease metrics', () => {
  it('reads leaseTransitions at each scrape from the source given, 0 before it is known', async () => {
    const m = createMetrics();
    let seen: number | null = null;
    m.lease.readTransitionsFrom(() => seen);
    expect(await m.registry.metrics()).toMatch(/^leasecron_lease_transitions 0$/m);
    seen = 7;
    expect(await m.registry.metrics()).toMatch(/^leasecron_lease_transitions 7$/m);
  });
});

describe('the exported names (the contract dashboards and alerts rely on)', () => {
  it('registers every leasecron series', async () => {
    const names = (await createMetrics().registry.getMetricsAsJSON())
      .map((x) => x.name)
      .filter((n) => n.startsWith('leasecron_'))
      .sort();
    expect(names).toEqual([
      'leasecron_armed_schedules',
      'leasecron_build_info',
      'leasecron_cache_reads_total',
      'leasecron_cache_schedules',
      'leasecron_cache_sync_seconds',
      'leasecron_change_stream_events_total',
      'leasecron_change_stream_lag_seconds',
      'leasecron_change_stream_restarts_total',
      'leasecron_fire_lateness_seconds',
      'leasecron_fires_total',
      'leasecron_http_request_duration_seconds',
      'leasecron_http_requests_total',
      'leasecron_invalid_schedules',
      'leasecron_is_leader',
      'leasecron_leader_transitions_total',
      'leasecron_lease_renew_duration_seconds',
      'leasecron_lease_renew_failures_total',
      'leasecron_lease_transitions',
      'leasecron_missed_occurrences_total',
      'leasecron_mongodb_up',
      'leasecron_run_attempts',
      'leasecron_run_duration_seconds',
    ]);
  });

  it('labels fires by result and trigger', async () => {
    const m = createMetrics();
    m.engine.fires.inc({ result: 'succeeded', trigger: 'catchup' });
    expect(await m.registry.metrics()).toMatch(
      /^leasecron_fires_total\{result="succeeded",trigger="catchup"\} 1$/m,
    );
  });
});
