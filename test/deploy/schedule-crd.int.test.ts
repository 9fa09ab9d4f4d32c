// The declarative side of issue 12 on the real kube-apiserver: the Schedule CRD installs and is
// served (short name, category, status subresource), the example objects in payloads/ are accepted
// through `make apply-schedule`, the CEL rules refuse what they promise with their messages, the
// printer columns come back as a Table (`make get-crs`, `kubectl get lcs`), and the admission policy
// keeps a jobTemplate Schedule from being a way around `create jobs`. No controller runs here:
// status is written by hand where a test needs it. Other files share the server, so this one works
// in a namespace of its own and relies only on what it applies.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable, getTable, loadKube } from '../../scripts/kube.mjs';
import { REPO_ROOT } from '../../stack/stack.ts';
import { adminKubeConfig, createNamespace, stack, tokenKubeConfig } from '../helpers/clients.ts';
import { kubectl, kubectlOk, privateKubeconfig, run } from './commands.ts';

const GROUP = 'leasecron.io';
const VERSION = 'v1alpha1';
const PLURAL = 'schedules';
const API_VERSION = `${GROUP}/${VERSION}`;
const COLUMNS = ['NAME', 'SCHEDULE', 'TIMEZONE', 'PAUSED', 'LAST', 'NEXT', 'READY', 'AGE'];
const PAYLOADS = readdirSync(join(REPO_ROOT, 'payloads'))
  .filter((f) => /^schedule-.*\.yaml$/.test(f))
  .sort();

let kubeconfig: string;
let ns: string;
let custom: k8s.CustomObjectsApi;

interface ScheduleObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; finalizers?: string[]; resourceVersion?: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const schedule = (name: string, spec: Record<string, unknown>): ScheduleObject => ({
  apiVersion: API_VERSION,
  kind: 'Schedule',
  metadata: { name },
  spec,
});

/** `make TARGET` against this file's API server: not a local-up of anyone's, KUBECONFIG's context. */
function make(target: string, vars: string[] = []) {
  return run('make', ['--no-print-directory', target, 'KUBE_CONTEXT=', ...vars], {
    env: { KUBECONFIG: kubeconfig, LEASECRON_LOCAL_DIR: join(dirname(kubeconfig), 'no-local-up') },
  });
}

async function kubeScript(args: string[]): Promise<string> {
  const r = await run(process.execPath, ['scripts/kube.mjs', ...args, '--kubeconfig', kubeconfig]);
  if (r.code !== 0) throw new Error(`scripts/kube.mjs ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The API server's answer to creating `body` (server-side dry run): 'accepted' or code + message. */
async function answer(body: ScheduleObject, api = custom, namespace = ns, dryRun = true): Promise<string> {
  try {
    await api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      body,
      ...(dryRun ? { dryRun: 'All' } : {}),
    });
    return 'accepted';
  } catch (e) {
    if (!(e instanceof k8s.ApiException)) throw e;
    const status = JSON.parse(String(e.body)) as { message?: string };
    return `${e.code} ${status.message ?? String(e.body)}`;
  }
}

beforeAll(async () => {
  kubeconfig = privateKubeconfig(stack().kube);
  custom = adminKubeConfig().makeApiClient(k8s.CustomObjectsApi);
  // Installed the way `make local-up` does it (scripts/kube.mjs: server-side apply).
  for (const file of [
    'deploy/crd/schedules.leasecron.io.yaml',
    'deploy/admission/schedule-job-policy.yaml',
    'deploy/base/leasecron/clusterroles.yaml',
  ]) {
    await kubeScript(['apply', '-f', file]);
  }
  ns = await createNamespace('lc-crd');
});

afterAll(async () => {
  if (ns) {
    await adminKubeConfig()
      .makeApiClient(k8s.CoreV1Api)
      .deleteNamespace({ name: ns })
      .catch(() => undefined);
  }
  if (kubeconfig) rmSync(dirname(kubeconfig), { recursive: true, force: true });
});

describe('the Schedule CRD', () => {
  it('becomes Established and is served as schedules.leasecron.io, short name lcs, category leasecron', async () => {
    await kubectlOk(kubeconfig, ['wait', '--for=condition=Established', 'crd/schedules.leasecron.io']);
    const crd = await adminKubeConfig()
      .makeApiClient(k8s.ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: 'schedules.leasecron.io' });
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind: 'Schedule',
      plural: 'schedules',
      singular: 'schedule',
      shortNames: ['lcs'],
      categories: ['leasecron'],
    });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[VERSION, true, true]]);
    const discovery = loadKube({ kubeconfig });
    const served = (await custom.getAPIResources({ group: GROUP, version: VERSION })).resources.map(
      (r) => r.name,
    );
    expect(served.sort()).toEqual(['schedules', 'schedules/status']);
    expect(discovery.getCurrentCluster()?.server).toBe(stack().kube.server);
  });

  it.each(PAYLOADS)(
    'make apply-schedule FILE=payloads/%s creates it, with the defaults filled in',
    async (file) => {
      const text = readFileSync(join(REPO_ROOT, 'payloads', file), 'utf8');
      expect(text).toMatch(/^# .*\n(#.*\n)*#.*apply/m);
      const [doc, ...more] = k8s.loadAllYaml(text) as ScheduleObject[];
      expect(more).toEqual([]);
      // No namespace in the file: it goes where it is applied (NS, kubectl -n).
      expect(doc?.metadata.namespace).toBeUndefined();
      const dry = await kubeScript(['apply', '-f', `payloads/${file}`, '-n', ns, '--dry-run']);
      expect(dry).toBe(
        `schedule.leasecron.io/${doc!.metadata.name} (namespace ${ns}) serverside-applied (server dry run)\n`,
      );

      const r = await make('apply-schedule', [`FILE=payloads/${file}`, `NS=${ns}`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        `schedule.leasecron.io/${doc!.metadata.name} (namespace ${ns}) serverside-applied\n`,
      );
      const stored = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: doc!.metadata.name,
      })) as ScheduleObject;
      expect(stored.spec).toMatchObject({
        suspend: false,
        concurrencyPolicy: 'Forbid',
        misfirePolicy: 'FireOnce',
        startingDeadlineSeconds: expect.any(Number),
      });
      // The history limits have no schema default (CEL allows them only with jobTemplate).
      expect('successfulJobsHistoryLimit' in stored.spec).toBe('jobTemplate' in stored.spec);
      if ('http' in stored.spec) {
        expect(stored.spec.http).toMatchObject({
          method: 'POST',
          retry: { maxAttempts: 3, backoffMs: 1000 },
        });
      }
      // Applied again, nothing changes (server-side apply is idempotent).
      const again = await make('apply-schedule', [`FILE=payloads/${file}`, `NS=${ns}`]);
      expect(again.code).toBe(0);
    },
  );

  it('the examples cover each action: log, jobTemplate with history limits, http', () => {
    const specs = PAYLOADS.map(
      (f) => (k8s.loadYaml(readFileSync(join(REPO_ROOT, 'payloads', f), 'utf8')) as ScheduleObject).spec,
    );
    expect(PAYLOADS).toEqual(['schedule-every-minute.yaml', 'schedule-job.yaml', 'schedule-webhook.yaml']);
    expect(specs[0]).toMatchObject({ schedule: '* * * * *', log: expect.any(Object) });
    expect(specs[1]).toMatchObject({
      jobTemplate: {
        spec: { template: { spec: { containers: [{ image: expect.stringMatching(/^busybox/) }] } } },
      },
      successfulJobsHistoryLimit: expect.any(Number),
      failedJobsHistoryLimit: expect.any(Number),
    });
    expect(specs[2]).toMatchObject({ http: { url: expect.stringMatching(/^https?:\/\//) } });
  });

  it('CEL refuses what the schema cannot say, naming the rule', async () => {
    const log = { log: {} };
    const refusals: [string, ScheduleObject, RegExp][] = [
      [
        'schedule and at',
        schedule('both', { schedule: '* * * * *', at: ['2031-01-01T00:00:00Z'], ...log }),
        /exactly one of spec\.schedule or spec\.at must be set/,
      ],
      ['neither schedule nor at', schedule('neither', log), /exactly one of spec\.schedule or spec\.at/],
      [
        'timeZone on @every',
        schedule('tz-every', { schedule: '@every 30s', timeZone: 'Europe/Berlin', ...log }),
        /spec\.timeZone applies only to a cron spec\.schedule, not to '@every' or spec\.at/,
      ],
      [
        'timeZone on at',
        schedule('tz-at', { at: ['2031-01-01T00:00:00Z'], timeZone: 'Europe/Berlin', ...log }),
        /spec\.timeZone applies only to a cron spec\.schedule/,
      ],
      [
        'two actions',
        schedule('two', { schedule: '@every 1m', log: {}, http: { url: 'http://example.test/' } }),
        /exactly one action must be set: spec\.jobTemplate, spec\.http or spec\.log/,
      ],
      ['no action', schedule('none', { schedule: '@every 1m' }), /exactly one action must be set/],
      [
        'history limits without jobTemplate',
        schedule('limits', { schedule: '@every 1m', successfulJobsHistoryLimit: 2, ...log }),
        /spec\.successfulJobsHistoryLimit and spec\.failedJobsHistoryLimit apply only with spec\.jobTemplate/,
      ],
      [
        'endAt before startAt',
        schedule('window', {
          schedule: '@every 1m',
          startAt: '2031-01-02T00:00:00Z',
          endAt: '2031-01-02T00:30:00+01:00',
          ...log,
        }),
        /spec\.endAt must be after spec\.startAt/,
      ],
      [
        'a name that is no DNS-1123 label',
        schedule('nightly.report', { schedule: '@every 1m', ...log }),
        /metadata\.name: Invalid value: metadata\.name must be a DNS-1123 label of at most 63 characters/,
      ],
      [
        'a name over 63 characters',
        schedule('a'.repeat(64), { schedule: '@every 1m', ...log }),
        /metadata\.name must be a DNS-1123 label of at most 63 characters/,
      ],
      [
        'an http URL of another scheme',
        schedule('ftp', { schedule: '@every 1m', http: { url: 'ftp://example.test/x' } }),
        /spec\.http\.url must be an absolute http:\/\/ or https:\/\/ URL/,
      ],
      [
        'a fractional @every',
        schedule('frac', { schedule: '@every 1.5h', ...log }),
        /'@every' takes one duration: integers with units h, m, s, ms, largest first/,
      ],
      [
        'a cron pattern of 3 fields',
        schedule('three', { schedule: '* * *', ...log }),
        /a cron pattern has 5 fields \(minute hour day month weekday\) or 6 \(seconds first\)/,
      ],
      [
        'an unknown shortcut',
        schedule('reboot', { schedule: '@reboot', ...log }),
        /the shortcuts are @yearly/,
      ],
      // Plain schema checks, for completeness.
      [
        'an unknown policy',
        schedule('policy', { schedule: '@every 1m', concurrencyPolicy: 'forbid', ...log }),
        /spec\.concurrencyPolicy: Unsupported value: "forbid"/,
      ],
      [
        'a bad instant',
        schedule('instant', { at: ['tomorrow'], ...log }),
        /spec\.at\[0\]: Invalid value: "tomorrow"/,
      ],
    ];
    for (const [why, body, message] of refusals) {
      const got = await answer(body);
      expect(got, why).toMatch(/^422 /);
      expect(got, why).toMatch(message);
    }
    const accepted: [string, ScheduleObject][] = [
      [
        'cron with a zone',
        schedule('cron-tz', { schedule: '0 30 2 * * *', timeZone: 'Europe/Berlin', ...log }),
      ],
      ['a shortcut', schedule('daily', { schedule: '@daily', timeZone: 'Europe/Berlin', ...log })],
      ['@every with units', schedule('every', { schedule: '@every 1h30m', ...log })],
      ['@every in ms', schedule('every-ms', { schedule: '@every 1500ms', ...log })],
      [
        'one-shot with a window',
        schedule('at', {
          at: ['2031-01-01T00:00:00Z', '2031-01-02T00:00:00+01:00'],
          startAt: '2030-12-31T00:00:00Z',
          endAt: '2031-02-01T00:00:00Z',
          maxRuns: 2,
          ...log,
        }),
      ],
      [
        'any JSON as http body',
        schedule('body', { schedule: '@every 1m', http: { url: 'https://x.test', body: 'a' } }),
      ],
      [
        'jobTemplate with history limits',
        schedule('job', {
          schedule: '@every 1m',
          jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'busybox' }] } } } },
          successfulJobsHistoryLimit: 0,
          failedJobsHistoryLimit: 5,
        }),
      ],
    ];
    for (const [why, body] of accepted) expect(await answer(body), why).toBe('accepted');
  });
});

describe('printer columns', () => {
  it('the server returns the table kubectl prints: make get-crs, kubectl get lcs', async () => {
    const listNs = await createNamespace('lc-crd-table');
    await make('apply-schedule', [`NS=${listNs}`]);
    // As the controller would: status through the status subresource.
    const next = new Date(Date.now() + 10 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const last = new Date(Date.now() - 3 * 60_000).toISOString();
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: listNs,
        plural: PLURAL,
        name: 'hello-every-minute',
        body: {
          status: {
            observedGeneration: 1,
            scheduleId: 'abc',
            nextRunAt: next,
            lastRun: { scheduledFor: last, finishedAt: null, status: 'running', runId: 'r1' },
            active: 1,
            runs: 3,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Armed',
                message: '',
                lastTransitionTime: last,
                observedGeneration: 1,
              },
            ],
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );

    const table = await getTable(
      loadKube({ kubeconfig }),
      `/apis/${API_VERSION}/namespaces/${listNs}/${PLURAL}`,
    );
    expect(table.columnDefinitions.map((c) => c.name.toUpperCase())).toEqual(COLUMNS);
    const lines = formatTable(table);
    expect(lines[0]).toMatch(new RegExp(`^${COLUMNS.join(' +')}$`));
    expect(lines[1]).toMatch(
      new RegExp(`^hello-every-minute +\\* \\* \\* \\* \\* +false +3m\\d*s? +${next} +True +\\d+s$`),
    );

    const viaMake = await make('get-crs', [`NS=${listNs}`]);
    expect(viaMake.stderr).toBe('');
    expect(viaMake.stdout.split('\n')[0]).toBe(lines[0]);
    expect(viaMake.stdout).toMatch(/^hello-every-minute +\* \* \* \* \* +false +3m/m);
    // kubectl, where there is one, prints the same columns by short name and by category...
    const viaKubectl = await kubectlOk(kubeconfig, ['get', 'lcs', '-n', listNs]);
    expect(viaKubectl.split('\n')[0]).toBe(lines[0]);
    const byCategory = await kubectlOk(kubeconfig, ['get', 'leasecron', '-n', listNs]);
    expect(byCategory).toContain('hello-every-minute');
    // ... and `all` does not include them (a `kubectl delete all` must not delete schedules).
    const all = await kubectl(kubeconfig, ['get', 'all', '-n', listNs, '-o', 'name']);
    expect(all.stdout).not.toContain('leasecron.io');

    const empty = await make('get-crs', [`NS=${listNs}-none`]);
    expect(empty.stdout).toBe(`No schedules.leasecron.io found in namespace ${listNs}-none.\n`);
    await adminKubeConfig().makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: listNs });
  });
});

describe('the admission policy for jobTemplate Schedules', () => {
  it('refuses a jobTemplate Schedule from a user who may not create Jobs, admits it once they may', async () => {
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(k8s.CoreV1Api);
    const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'alice' } } });
    const alice = { kind: 'ServiceAccount', name: 'alice', namespace: ns };
    // leasecron-editor: create/update schedules (what `edit` brings), and nothing on Jobs.
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'alice-editor' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'leasecron-editor' },
        subjects: [alice],
      },
    });
    const grant = async (name: string, rule: k8s.V1PolicyRule) => {
      await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name }, rules: [rule] } });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
          subjects: [alice],
        },
      });
    };
    const token = (
      await core.createNamespacedServiceAccountToken({
        name: 'alice',
        namespace: ns,
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      })
    ).status?.token;
    const asAlice = tokenKubeConfig(token!, ns).makeApiClient(k8s.CustomObjectsApi);
    const pod = (serviceAccountName?: string) => ({
      restartPolicy: 'Never',
      ...(serviceAccountName ? { serviceAccountName } : {}),
      containers: [{ name: 'a', image: 'busybox' }],
    });
    const job = (name: string, serviceAccountName?: string) =>
      schedule(name, {
        schedule: '@every 1m',
        jobTemplate: { spec: { template: { spec: pod(serviceAccountName) } } },
      });

    // Schedules without a jobTemplate are none of the policy's business.
    expect(await answer(schedule('alice-log', { schedule: '@every 1m', log: {} }), asAlice)).toBe('accepted');

    // A new policy takes a moment to be enforced: wait for the refusal.
    const deadline = Date.now() + 20_000;
    let refused = await answer(job('alice-job'), asAlice);
    while (refused === 'accepted' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      refused = await answer(job('alice-job'), asAlice);
    }
    expect(refused).toBe(
      `403 schedules.leasecron.io "alice-job" is forbidden: ValidatingAdmissionPolicy 'leasecron-schedule-job-permissions' with binding 'leasecron-schedule-job-permissions' denied request: system:serviceaccount:${ns}:alice may not create jobs.batch in namespace ${ns}, which a Schedule with spec.jobTemplate needs (leasecron creates its Jobs there)`,
    );

    await grant('alice-jobs', { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] });
    expect(await answer(job('alice-job'), asAlice, ns, false)).toBe('accepted');

    // A pod template naming another ServiceAccount also needs `use` on it (the deprecated field too).
    expect(await answer(job('alice-builder', 'builder'), asAlice)).toMatch(
      /^403 .*system:serviceaccount:.*:alice may not use serviceaccounts\/builder in namespace .*, which the jobTemplate runs its pods as$/,
    );
    const deprecated = job('alice-deprecated');
    (deprecated.spec.jobTemplate as { spec: { template: { spec: object } } }).spec.template.spec = {
      ...pod(),
      serviceAccount: 'builder',
    };
    expect(await answer(deprecated, asAlice)).toMatch(/may not use serviceaccounts\/builder/);
    expect(await answer(job('alice-default', 'default'), asAlice)).toBe('accepted');
    await grant('alice-use-builder', {
      apiGroups: [''],
      resources: ['serviceaccounts'],
      resourceNames: ['builder'],
      verbs: ['use'],
    });
    expect(await answer(job('alice-builder', 'builder'), asAlice)).toBe('accepted');
    expect(await answer(job('alice-other', 'other'), asAlice)).toMatch(/may not use serviceaccounts\/other/);

    // Without `create jobs` again: metadata-only updates (the controller's finalizer) still pass,
    // a change of spec does not.
    await rbac.deleteNamespacedRoleBinding({ name: 'alice-jobs', namespace: ns });
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    const patch = (body: object) =>
      asAlice
        .patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'alice-job', body },
          merge,
        )
        .then(
          () => 'accepted',
          (e) => (e instanceof k8s.ApiException ? `${e.code} ${String(e.body)}` : Promise.reject(e)),
        );
    const specChange = { spec: { suspend: true } };
    const until = Date.now() + 20_000;
    let changed = await patch(specChange);
    while (changed === 'accepted' && Date.now() < until) {
      // The RBAC change reached the authorizer late: undo and try again.
      await patch({ spec: { suspend: false } });
      await new Promise((r) => setTimeout(r, 200));
      changed = await patch(specChange);
    }
    expect(changed).toMatch(/^403 .*may not create jobs\.batch/);
    expect(await patch({ metadata: { finalizers: ['leasecron.io/schedule'], labels: { a: 'b' } } })).toBe(
      'accepted',
    );
    expect(await patch({ metadata: { finalizers: null } })).toBe('accepted');
  });
});
