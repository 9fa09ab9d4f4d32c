// deploy/monitoring/ as the tests read it: the PrometheusRule (the rules' single source), the
// dashboard's queries, and promtool as scripts/provision-stack.sh provides it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { REPO_ROOT } from '../../stack/stack.ts';

export const MONITORING = join(REPO_ROOT, 'deploy', 'monitoring');

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export function prometheusRule(): { kind: string; apiVersion: string; spec: { groups: RuleGroup[] } } {
  return loadYaml(readFileSync(join(MONITORING, 'prometheusrule.yaml'), 'utf8'));
}

export function rules(): Rule[] {
  return prometheusRule().spec.groups.flatMap((g) => g.rules);
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every PromQL query of the dashboard: the panels' targets and the template variables' queries. */
export function dashboardExpressions(): { where: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(join(MONITORING, 'dashboard.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; query?: string | { query?: string } }[] };
  };
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    // label_values(metric, label) and friends: the first argument is a series selector
    const m = q ? /^\s*(?:label_values|query_result)\((.*?)(?:,\s*\w+)?\)\s*$/.exec(q) : null;
    if (m?.[1]) out.push({ where: `variable $${v.name}`, expr: m[1] });
  }
  return out;
}

/**
 * promtool from the project's provisioning (built once into ~/.cache/leasecron). Throws, saying
 * what to do, when it is not there: these checks never pass by being skipped.
 */
export function promtool(): string {
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'provision-stack.sh'), 'promtool'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const path = r.stdout
    .split('\n')
    .find((l) => l.startsWith('PROMTOOL='))
    ?.slice('PROMTOOL='.length);
  if (r.status !== 0 || !path)
    throw new Error(
      `promtool is missing and could not be built (scripts/provision-stack.sh promtool exited ${r.status}):\n${r.stderr}\n` +
        'Run `bash scripts/provision-stack.sh promtool` (needs Go; `make setup` does it) and look at its messages.',
    );
  return path;
}
