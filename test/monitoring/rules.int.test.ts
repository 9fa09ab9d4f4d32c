// The alert rules as Prometheus would load them: `promtool check rules` on the PrometheusRule's
// spec.groups (the single source), `promtool test rules` on deploy/monitoring/tests/, with a
// case that fires and one that does not for every alert; each alert's runbook exists in
// docs/operations.md; the ServiceMonitor scrapes the port the Service really has.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpYaml, loadAllYaml, loadYaml } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../stack/stack.ts';
import { MONITORING, prometheusRule, promtool, rules } from './sources.ts';

interface UnitTests {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const TESTS = join(MONITORING, 'tests');
const testFiles = readdirSync(TESTS).filter((f) => f.endsWith('.yaml'));
let dir: string;
let bin: string;

beforeAll(() => {
  bin = promtool();
  dir = mkdtempSync(join(tmpdir(), 'lc-rules-'));
  // promtool reads plain rule files: the PrometheusRule's spec, which is exactly that.
  writeFileSync(join(dir, 'rules.yaml'), dumpYaml({ groups: prometheusRule().spec.groups }));
  for (const f of testFiles) copyFileSync(join(TESTS, f), join(dir, f));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]) {
  const r = spawnSync(bin, args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('deploy/monitoring/prometheusrule.yaml', () => {
  it('is a monitoring.coreos.com/v1 PrometheusRule that promtool accepts', () => {
    const pr = prometheusRule();
    expect([pr.apiVersion, pr.kind]).toEqual(['monitoring.coreos.com/v1', 'PrometheusRule']);
    const r = run(['check', 'rules', 'rules.yaml']);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status, r.out).toBe(0);
  });

  it('has the alerts issue 16 asks for, each with a severity, a summary and a runbook in docs/operations.md', () => {
    const alerts = rules().filter((r) => r.alert);
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'LeasecronChangeStreamRestarting',
      'LeasecronFireLatenessHigh',
      'LeasecronLeaseRenewFailures',
      'LeasecronMissedOccurrences',
      'LeasecronMongoDBUnreachable',
      'LeasecronMultipleLeaders',
      'LeasecronNoLeader',
      'LeasecronRunsFailing',
    ]);
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    // GitHub's heading anchors: lower case, spaces to dashes, punctuation dropped
    const anchors = new Set(
      [...doc.matchAll(/^#{1,6} +(.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const a of alerts) {
      expect(a.labels?.severity, a.alert).toMatch(/^(critical|warning)$/);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      const url = a.annotations?.runbook_url ?? '';
      expect(url, a.alert).toBe(`docs/operations.md#${a.alert!.toLowerCase()}`);
      expect(anchors.has(a.alert!.toLowerCase()), `docs/operations.md has a section "${a.alert}"`).toBe(true);
    }
  });

  it('passes promtool test rules, with a case that fires and one that does not for every alert', () => {
    const fires = new Set<string>();
    const silent = new Set<string>();
    for (const f of testFiles) {
      const t = loadYaml<UnitTests>(readFileSync(join(TESTS, f), 'utf8'));
      expect(t.rule_files, f).toEqual(['rules.yaml']);
      for (const c of t.tests)
        for (const a of c.alert_rule_test ?? []) (a.exp_alerts.length > 0 ? fires : silent).add(a.alertname);
    }
    for (const a of rules().filter((r) => r.alert)) {
      expect(fires.has(a.alert!), `a test where ${a.alert} fires`).toBe(true);
      expect(silent.has(a.alert!), `a test where ${a.alert} does not fire`).toBe(true);
    }
    const r = run(['test', 'rules', ...testFiles]);
    expect(r.status, r.out).toBe(0);
    expect(r.out.match(/SUCCESS/g)?.length).toBe(testFiles.length);
  });
});

describe('deploy/monitoring/servicemonitor.yaml', () => {
  it("selects the leasecron Service and scrapes its named port's /metrics", () => {
    const sm = loadYaml<{
      apiVersion: string;
      kind: string;
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    }>(readFileSync(join(MONITORING, 'servicemonitor.yaml'), 'utf8'));
    expect([sm.apiVersion, sm.kind]).toEqual(['monitoring.coreos.com/v1', 'ServiceMonitor']);
    const svc = loadAllYaml(
      readFileSync(join(REPO_ROOT, 'deploy/base/leasecron/service.yaml'), 'utf8'),
    )[0] as {
      metadata: { name: string; labels: Record<string, string> };
      spec: { ports: { name: string }[] };
    };
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(v);
    expect(sm.spec.endpoints.map((e) => [e.port, e.path])).toEqual([['http', '/metrics']]);
    expect(svc.spec.ports.map((p) => p.name)).toContain('http');
    // the rules find the targets by the job label, which the operator sets to the Service's name
    for (const r of rules())
      if (r.expr.includes('job=')) expect(r.expr).toContain(`job="${svc.metadata.name}"`);
  });
});
