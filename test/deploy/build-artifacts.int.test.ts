// The files around the code that nothing else exercises here (no Docker, no kind on this machine):
// the Dockerfile runs the same npm commands as the local build and ships only dist/ with production
// dependencies; .dockerignore keeps local state out without hiding build inputs; the payloads are
// valid schedules; `make up` builds, loads and applies what the manifests expect.
// No server needed; in the int project only because test/deploy/ lives there.

import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, matchesGlob } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/load-config.ts';
import { validateScheduleInput } from '../../src/schedule/schema.ts';
import { REPO_ROOT } from '../../stack/stack.ts';
import { loopbackSinks } from '../helpers/egress.ts';
import { run } from './commands.ts';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  main: string;
  description: string;
  license: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile → global ARGs and stages; joins continuation lines, drops comments and directives. */
function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const op = match[1]!.toUpperCase();
    const rest = match[2]!.replace(/\s+/g, ' ');
    if (op === 'FROM') {
      const [image, as, name] = rest.split(' ');
      stages.push({ from: image!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      args.push({ op, args: rest });
    } else {
      stages.at(-1)!.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const buildStage = dockerfile.stages[0]!;
const finalStage = dockerfile.stages.at(-1)!;
// RUN's own flags (--mount=…) are not part of the command.
const runs = (stage: Stage) =>
  stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args.replace(/^(--\S+ )+/, ''));
const of = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);

describe('Dockerfile', () => {
  it('builds on the Node version the project pins, in a build stage and a separate runtime stage', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile.args).toContainEqual({ op: 'ARG', args: `NODE_VERSION=${pkg.devDependencies.node}` });
    for (const stage of dockerfile.stages) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile ARG reference, literally
      expect(stage.from).toBe('node:${NODE_VERSION}-slim');
    }
  });

  it('runs only npm commands that package.json has, the same ones the local build uses', () => {
    const all = dockerfile.stages.flatMap(runs).join(' && ');
    const scripts = [...all.matchAll(/npm run (\S+)/g)].map((m) => m[1]!);
    expect(scripts).toEqual(['build']);
    for (const script of scripts) expect(pkg.scripts).toHaveProperty(script);
    const npmCommands = all
      .split('&&')
      .map((c) => c.trim())
      .filter((c) => c.startsWith('npm '))
      .map((c) => c.split(' ')[1]);
    expect(new Set(npmCommands)).toEqual(new Set(['ci', 'run']));

    const buildRuns = runs(buildStage).join(' && ');
    expect(buildRuns).toMatch(/npm ci (?![^&]*--omit)/);
    expect(buildRuns).toContain('npm run build');
    const finalRuns = runs(finalStage).join(' && ');
    expect(finalRuns).toMatch(/npm ci [^&]*--omit=dev/);
    expect(finalRuns).not.toContain('npm run');
  });

  it('skips install scripts safely: only the dev-only `node` package has one', () => {
    // The Dockerfile runs `npm ci --ignore-scripts`; a dependency that needs its script must change that.
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { hasInstallScript?: boolean; dev?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript);
    expect(withScripts).toEqual([['node_modules/node', expect.objectContaining({ dev: true })]]);
    for (const stage of dockerfile.stages) {
      for (const cmd of runs(stage).filter((r) => r.includes('npm ci')))
        expect(cmd).toContain('--ignore-scripts');
    }
  });

  it('ships compiled JavaScript only and starts it as `npm start` would, non-root, in exec form', () => {
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as {
      compilerOptions: { outDir: string; rootDir: string };
    };
    const { outDir, rootDir } = tsconfig.compilerOptions;
    expect(rootDir).toBe('src');
    expect(pkg.main).toBe(`${outDir}/main.js`);

    const copies = of(finalStage, 'COPY');
    const fromBuild = copies.filter((c) => c.startsWith('--from='));
    expect(fromBuild).toEqual([`--from=${buildStage.name} /app/${outDir} ./${outDir}`]);
    expect(copies.filter((c) => !c.startsWith('--from='))).toEqual([
      'package.json package-lock.json LICENSE ./',
    ]);

    const cmd = of(finalStage, 'CMD');
    expect(cmd).toHaveLength(1);
    const argv = JSON.parse(cmd[0]!) as string[];
    expect(argv).toEqual(['node', pkg.main]);
    expect(argv.join(' ')).toBe(pkg.scripts.start);
    expect(of(finalStage, 'ENTRYPOINT')).toEqual([]);

    const user = of(finalStage, 'USER');
    expect(user).toHaveLength(1);
    expect(user[0]).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    expect(of(finalStage, 'ENV').join(' ')).toContain('NODE_ENV=production');
    // leasecron_build_info{revision} reads BUILD_REVISION: the image's own revision build arg
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ${REVISION}
    expect(of(finalStage, 'ENV').join(' ')).toContain('BUILD_REVISION="${REVISION}"');
    expect(of(finalStage, 'EXPOSE')).toEqual([DEFAULTS.PORT]);
  });

  it('the compiled code imports only production dependencies, the only ones in the image', () => {
    // What tsconfig.build.json compiles: src/ without the tests. `import type` is erased.
    const sources = readdirSync(join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    expect(sources.length).toBeGreaterThan(0);
    const IMPORT =
      /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
    const outside: string[] = [];
    for (const file of sources) {
      for (const m of read(join('src', file)).matchAll(IMPORT)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!(name in pkg.dependencies)) outside.push(`src/${file}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('matches the Deployment: same image user, same port', () => {
    const deployment = k8s.loadYaml<k8s.V1Deployment>(read('deploy/base/leasecron/deployment.yaml'));
    const pod = deployment.spec!.template.spec!;
    const [uid, gid] = of(finalStage, 'USER')[0]!.split(':').map(Number);
    expect(pod.securityContext?.runAsUser).toBe(uid);
    expect(pod.securityContext?.runAsGroup).toBe(gid);
    expect(pod.containers[0]?.ports?.[0]?.containerPort).toBe(Number(of(finalStage, 'EXPOSE')[0]));
  });
});

describe('the runtime stage', () => {
  it('has no package manager: npm, npx, corepack and yarn are deleted in the RUN that installs', () => {
    const installs = runs(finalStage).filter((r) => r.includes('npm ci'));
    expect(installs).toHaveLength(1);
    // One RUN: a later one would leave them in this stage's layers.
    const commands = installs[0]!.split('&&').map((c) => c.trim());
    expect(commands[0]).toMatch(/^npm ci /);
    const removed = commands.slice(1).join(' ');
    for (const path of [
      '/usr/local/lib/node_modules/npm',
      '/usr/local/lib/node_modules/corepack',
      '/usr/local/bin/npm',
      '/usr/local/bin/npx',
      '/usr/local/bin/corepack',
      '/usr/local/bin/yarn',
      '/opt/yarn-*',
    ]) {
      expect(removed, path).toMatch(
        new RegExp(`^rm -(rf|f) .*(?<= )${path.replace(/[*.]/g, (c) => `\\${c}`)}(?= |$)`, 'm'),
      );
    }
    expect(commands.slice(1).every((c) => c.startsWith('rm -'))).toBe(true);
    // Nothing after it calls npm, and the CMD is node itself.
    const after = finalStage.instructions.slice(
      finalStage.instructions.findIndex((i) => i.op === 'RUN' && i.args.includes('npm ci')) + 1,
    );
    expect(after.map((i) => i.args).join(' ')).not.toMatch(/\bnp[mx]\b/);
  });

  it('carries the OCI labels, from build arguments for version, revision and creation time', () => {
    const labels = Object.fromEntries(
      [
        ...of(finalStage, 'LABEL')
          .join(' ')
          .matchAll(/(\S+)="([^"]*)"/g),
      ].map((m) => [m[1]!, m[2]!]),
    );
    // A Dockerfile ARG reference, literally.
    const ref = (name: string) => `\${${name}}`;
    expect(labels).toEqual({
      'org.opencontainers.image.title': 'leasecron',
      'org.opencontainers.image.description': pkg.description,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.version': ref('VERSION'),
      'org.opencontainers.image.revision': ref('REVISION'),
      'org.opencontainers.image.created': ref('CREATED'),
      'org.opencontainers.image.base.name': `docker.io/library/node:${ref('NODE_VERSION')}-slim`,
    });
    const args = of(finalStage, 'ARG').map((a) => a.split('=')[0]);
    expect(args.sort()).toEqual(['CREATED', 'NODE_VERSION', 'REVISION', 'VERSION']);
  });

  it('has no HEALTHCHECK (the Deployment probes health) and runs as a numeric non-root user', () => {
    for (const stage of dockerfile.stages) expect(of(stage, 'HEALTHCHECK')).toEqual([]);
    expect(of(finalStage, 'USER')).toEqual([expect.stringMatching(/^[1-9]\d*:[1-9]\d*$/)]);
  });

  it('installs production dependencies only: the same `npm ci` from the lockfile holds no devDependency and no npm', {
    timeout: 240_000,
  }, async () => {
    // What the stage's `npm ci --omit=dev --ignore-scripts` leaves in /app/node_modules, made here.
    const dir = mkdtempSync(join(tmpdir(), 'leasecron-runtime-'));
    try {
      for (const file of ['package.json', 'package-lock.json'])
        copyFileSync(join(REPO_ROOT, file), join(dir, file));
      const install = of(finalStage, 'RUN')
        .map((r) => r.replace(/^(--\S+ )+/, ''))
        .flatMap((r) => r.split('&&').map((c) => c.trim()))
        .find((c) => c.startsWith('npm ci '))!;
      const r = await run('bash', ['-c', `cd ${JSON.stringify(dir)} && ${install}`], { timeoutMs: 220_000 });
      expect(r.stderr.replace(/^npm warn .*\n?/gim, '')).toBe('');
      expect(r.code).toBe(0);
      const lock = JSON.parse(read('package-lock.json')) as {
        packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
      };
      const installed = Object.keys(
        (
          JSON.parse(readFileSync(join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as {
            packages: Record<string, unknown>;
          }
        ).packages,
      );
      const packageDirs = readdirSync(join(dir, 'node_modules'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('package.json') && /(^|\/)node_modules\//.test(`node_modules/${f}`))
        .map((f) => `node_modules/${dirname(f)}`)
        .filter((d) => d in lock.packages);
      expect(installed.length).toBeGreaterThan(0);
      // Nothing the lockfile marks dev-only; every production package.
      expect(installed.filter((p) => lock.packages[p]?.dev)).toEqual([]);
      expect(packageDirs.filter((p) => lock.packages[p]?.dev)).toEqual([]);
      const production = Object.entries(lock.packages)
        .filter(([p, v]) => p !== '' && !v.dev && !v.optional && !v.devOptional)
        .map(([p]) => p);
      expect(production.filter((p) => !installed.includes(p))).toEqual([]);
      // A devDependency that a production package needs too is a production package:
      // @types/node, a dependency of @kubernetes/client-node. Every other one is left out.
      const devOnly = Object.keys(pkg.devDependencies).filter((n) => lock.packages[`node_modules/${n}`]?.dev);
      expect(Object.keys(pkg.devDependencies).filter((n) => !devOnly.includes(n))).toEqual(['@types/node']);
      for (const name of devOnly) expect(existsSync(join(dir, 'node_modules', name)), name).toBe(false);
      for (const tool of ['npm', 'npx', 'corepack', 'yarn'])
        expect(existsSync(join(dir, 'node_modules', tool)), tool).toBe(false);
      expect(existsSync(join(dir, 'node_modules', '.bin', 'node'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LICENSE', () => {
  it('is the Apache License 2.0 that package.json names, in full, and the image ships it', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const text = read('LICENSE');
    expect(text).toMatch(
      /^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\//,
    );
    expect(text).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(text).toContain('END OF TERMS AND CONDITIONS');
    expect(text.split('\n').length).toBeGreaterThan(190);
  });
});

describe('.dockerignore', () => {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const ignored = (path: string) =>
    patterns.some((p) => (/[*?[]/.test(p) ? matchesGlob(path, p) : path === p || path.startsWith(`${p}/`)));

  it('keeps dependencies, build output, git and local state out of the build context', () => {
    for (const path of [
      'node_modules/x/index.js',
      'dist/main.js',
      '.git/HEAD',
      '.local/test-stack/kubeconfig',
    ]) {
      expect(ignored(path), path).toBe(true);
    }
    expect(ignored('src/config/load-config.test.ts')).toBe(true);
    expect(ignored('test/deploy/manifests.int.test.ts')).toBe(true);
  });

  it('lets in every file the Dockerfile copies', () => {
    const sources = dockerfile.stages
      .flatMap((s) => of(s, 'COPY'))
      .filter((c) => !c.startsWith('--from='))
      .flatMap((c) => c.replace(/--\S+/g, '').trim().split(' ').slice(0, -1));
    expect(sources.sort()).toEqual(
      [
        'package.json',
        'package-lock.json',
        'package.json',
        'package-lock.json',
        'LICENSE',
        'tsconfig.json',
        'tsconfig.build.json',
        'src',
      ].sort(),
    );
    for (const source of sources) expect(ignored(source), source).toBe(false);
    expect(ignored('src/main.ts')).toBe(false);
    expect(ignored('src/config/load-config.ts')).toBe(false);
  });
});

describe('payloads/', () => {
  const ALLOWED = [
    'name',
    'schedule',
    'action',
    'paused',
    'startAt',
    'endAt',
    'maxRuns',
    'concurrency',
    'misfire',
    'labels',
  ];
  const files = [
    'create_schedule.json',
    'create_schedule_at.json',
    'create_schedule_cron.json',
    'create_schedule_http_retry.json',
    'create_schedule_paused.json',
    'update_schedule.json',
  ];
  const load = (file: string) => JSON.parse(read(`payloads/${file}`)) as Record<string, unknown>;

  it.each(files)('%s is a valid schedule with only documented fields', (file) => {
    const body = load(file);
    expect(Object.keys(body).filter((k) => !ALLOWED.includes(k))).toEqual([]);
    // As the local demo's replicas take them: its webhook sink is on 127.0.0.1 (replicaEnv).
    const result = validateScheduleInput(body, { egress: loopbackSinks });
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('each says what its name promises', () => {
    const hello = load('create_schedule.json');
    expect(hello).toMatchObject({
      name: 'hello-every-5s',
      schedule: { every: '5s' },
      action: { type: 'log' },
    });

    const update = load('update_schedule.json');
    expect(update.name).toBe(hello.name);
    expect(update.schedule).toEqual({ every: '10s' });
    expect(update.action).toMatchObject({ type: 'log', message: expect.any(String) });

    const cron = load('create_schedule_cron.json') as { schedule: { cron: string; timezone: string } };
    expect(cron.schedule).toEqual({ cron: '0 */15 * * * *', timezone: 'Europe/Berlin' });
    expect(cron).toMatchObject({
      action: {
        type: 'http',
        url: 'http://127.0.0.1:9999/hook',
        headers: expect.any(Object),
        body: expect.anything(),
      },
    });

    const at = load('create_schedule_at.json') as { schedule: { at: string[] } };
    expect(at.schedule.at).toHaveLength(1);
    expect(Date.parse(at.schedule.at[0]!)).toBeGreaterThan(Date.parse('2029-01-01T00:00:00Z'));

    expect(load('create_schedule_http_retry.json')).toMatchObject({
      action: { type: 'http', timeoutMs: 3000, retry: { maxAttempts: 5, backoffMs: 500 } },
    });
    expect(load('create_schedule_paused.json').paused).toBe(true);
  });

  it('the create_* payloads have distinct names, so a user can create them all', () => {
    const names = files.filter((f) => f.startsWith('create_')).map((f) => load(f).name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('make up', () => {
  it('builds the image the Deployment runs, loads it into kind and applies the kind overlay', async () => {
    const r = await run('make', ['--dry-run', '--no-print-directory', 'up']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const image = k8s.loadYaml<k8s.V1Deployment>(read('deploy/base/leasecron/deployment.yaml')).spec!.template
      .spec!.containers[0]!.image;
    // The image's OCI labels get the version, the commit and the build time.
    expect(r.stdout).toMatch(
      /^docker build --build-arg VERSION=\d+\.\d+\.\d+ --build-arg REVISION=[0-9a-f]{40} --build-arg CREATED=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ -t /m,
    );
    for (const step of [
      'kind create cluster --config kind-config.yaml --name leasecron',
      `-t ${image} .`,
      `kind load docker-image ${image} --name leasecron`,
      'kubectl --context kind-leasecron apply -k deploy/overlays/kind',
      'rollout status statefulset/mongodb',
      'wait --for=condition=complete job/mongodb-rs-init',
      'rollout status deployment/leasecron',
    ]) {
      expect(r.stdout).toContain(step);
    }
  });
});
