import { describe, expect, it } from 'vitest';
import { cidrs, parseIp } from '../egress/cidr.ts';
import { checkEgress, createEgressPolicy, DEFAULT_EGRESS_POLICY } from '../egress/policy.ts';
import { SERVICE_ACCOUNT_NAMESPACE_FILE } from './config-docs.ts';
import { type Config, type ConfigDeps, ConfigError, drainBudgetMs, loadConfig } from './load-config.ts';

const outOfCluster: ConfigDeps = { readFile: () => undefined, hostname: () => 'dev-box' };
const inCluster: ConfigDeps = {
  readFile: (p: string) => (p === SERVICE_ACCOUNT_NAMESPACE_FILE ? 'team-a\n' : undefined),
  hostname: () => 'leasecron-7c9d-abcde',
};

function configError(env: Record<string, string | undefined>, deps = outOfCluster): ConfigError {
  try {
    loadConfig(env, deps);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('fills every default outside a cluster', () => {
    expect(loadConfig({}, outOfCluster)).toEqual<Config>({
      port: 8080,
      host: '0.0.0.0',
      mongodbUri: 'mongodb://127.0.0.1:27017/?directConnection=true',
      mongodbDb: 'leasecron',
      mongodbAuth: undefined,
      apiToken: undefined,
      auth: 'kubernetes',
      authCacheTtlMs: 10_000,
      logLevel: 'info',
      buildRevision: undefined,
      bodyLimitBytes: 65_536,
      runRetentionDays: 7,
      leaseName: 'leasecron-leader',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      podName: 'dev-box',
      podNamespace: 'default',
      kubeconfig: undefined,
      leaderLabel: 'leasecron.io/role',
      labelPod: false,
      shutdownTimeoutMs: 20_000,
      drainTimeoutMs: 15_000,
      jobNamespaces: ['default'],
      maxCatchupPerSchedule: 100,
      maxConcurrentRuns: 500,
      apiDbTimeoutMs: 1500,
      readyTimeoutMs: 1000,
      egress: DEFAULT_EGRESS_POLICY,
    });
  });

  it('returns a frozen object', () => {
    const config = loadConfig({}, outOfCluster);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.jobNamespaces)).toBe(true);
  });

  it('treats empty strings as unset', () => {
    const env = { PORT: '', API_TOKEN: '', POD_NAME: '', LABEL_POD: '', JOB_NAMESPACES: '', KUBECONFIG: '' };
    expect(loadConfig(env, outOfCluster)).toEqual(loadConfig({}, outOfCluster));
  });

  it('reads every variable when set', () => {
    const config = loadConfig(
      {
        PORT: '0',
        HOST: '::',
        MONGODB_URI: 'mongodb+srv://user:pw@cluster0.example.net/?retryWrites=true',
        MONGODB_DB: 'cron_prod',
        API_TOKEN: 'abcdefghijklmnop',
        LOG_LEVEL: 'debug',
        BODY_LIMIT_BYTES: '1024',
        RUN_RETENTION_DAYS: '3650',
        LEASE_NAME: 'my.lease-1',
        LEASE_DURATION_SECONDS: '2',
        RENEW_DEADLINE_SECONDS: '1.5',
        RETRY_PERIOD_SECONDS: '0.5',
        POD_NAME: 'leasecron-0',
        POD_NAMESPACE: 'ops',
        KUBECONFIG: '/tmp/kubeconfig',
        LEADER_LABEL: 'example.com/leader',
        LABEL_POD: '1',
        SHUTDOWN_TIMEOUT_SECONDS: '0.25',
        JOB_NAMESPACES: 'batch, ops ,,batch',
        MAX_CATCHUP_PER_SCHEDULE: '5',
        API_DB_TIMEOUT_MS: '800',
        READY_TIMEOUT_MS: '60000',
        HTTP_ALLOW_CIDRS: '127.0.0.1/32, fd00::/8,',
        HTTP_DENY_CIDRS: '10.96.0.0/12',
        KUBERNETES_SERVICE_HOST: '10.96.0.1',
      },
      outOfCluster,
    );
    expect(config).toMatchObject({
      port: 0,
      host: '::',
      mongodbDb: 'cron_prod',
      apiToken: 'abcdefghijklmnop',
      logLevel: 'debug',
      bodyLimitBytes: 1024,
      runRetentionDays: 3650,
      leaseName: 'my.lease-1',
      leaseDurationMs: 2000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 500,
      podName: 'leasecron-0',
      podNamespace: 'ops',
      kubeconfig: '/tmp/kubeconfig',
      leaderLabel: 'example.com/leader',
      labelPod: true,
      shutdownTimeoutMs: 250,
      drainTimeoutMs: 125,
      jobNamespaces: ['batch', 'ops'],
      maxCatchupPerSchedule: 5,
      apiDbTimeoutMs: 800,
      readyTimeoutMs: 60_000,
      egress: createEgressPolicy({
        allow: cidrs('127.0.0.1/32', 'fd00::/8'),
        deny: cidrs('10.96.0.0/12'),
        apiServer: parseIp('10.96.0.1')!,
      }),
    });
  });
});

describe('egress policy', () => {
  const verdict = (env: Record<string, string>, address: string) =>
    checkEgress(loadConfig(env, outOfCluster).egress, parseIp(address)!).allowed;

  it('refuses the built-in blocks when nothing is set', () => {
    expect(verdict({}, '127.0.0.1')).toBe(false);
    expect(verdict({}, '169.254.169.254')).toBe(false);
    expect(verdict({}, '10.96.0.1')).toBe(true);
  });

  it('refuses the API server at KUBERNETES_SERVICE_HOST (IPv4 or IPv6)', () => {
    expect(verdict({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, '10.96.0.1')).toBe(false);
    expect(verdict({ KUBERNETES_SERVICE_HOST: 'fd00:10:96::1' }, 'fd00:10:96::1')).toBe(false);
    expect(verdict({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, '10.96.0.2')).toBe(true);
  });

  it('HTTP_ALLOW_CIDRS beats the built-in refusals; HTTP_DENY_CIDRS beats HTTP_ALLOW_CIDRS', () => {
    expect(verdict({ HTTP_ALLOW_CIDRS: '127.0.0.1/32' }, '127.0.0.1')).toBe(true);
    expect(verdict({ HTTP_ALLOW_CIDRS: '127.0.0.1/32' }, '127.0.0.2')).toBe(false);
    expect(verdict({ HTTP_ALLOW_CIDRS: '127.0.0.0/8', HTTP_DENY_CIDRS: '127.0.0.1' }, '127.0.0.1')).toBe(
      false,
    );
    expect(verdict({ HTTP_DENY_CIDRS: '0.0.0.0/0' }, '8.8.8.8')).toBe(false);
  });

  it.each([
    ['HTTP_ALLOW_CIDRS', '10.0.0.0/33'],
    ['HTTP_ALLOW_CIDRS', '10.0.0.1/8'],
    ['HTTP_ALLOW_CIDRS', 'localhost'],
    ['HTTP_DENY_CIDRS', '10.0.0.0/8,fd00::/129'],
    ['HTTP_DENY_CIDRS', '10.0.0.0/8;10.1.0.0/16'],
    ['KUBERNETES_SERVICE_HOST', 'kubernetes.default.svc'],
  ])('%s=%j is refused, naming the variable', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.variables).toEqual([name]);
    expect(error.message).toMatch(new RegExp(`^${name}=`));
  });

  it('says which entry is wrong and what the block would be', () => {
    expect(configError({ HTTP_ALLOW_CIDRS: '10.0.0.0/8, 10.0.0.1/8' }).message).toBe(
      "HTTP_ALLOW_CIDRS=10.0.0.0/8, 10.0.0.1/8 must be comma-separated CIDR blocks (e.g. 10.0.0.0/8,fd00::/8): '10.0.0.1/8' has bits set after the prefix; the block is 10.0.0.0/8",
    );
  });
});

describe('loadConfig rejects bad values, naming the variable', () => {
  it.each([
    ['PORT', '12abc'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', ' 8080'],
    ['PORT', '80.5'],
    ['MONGODB_URI', 'postgres://localhost/db'],
    ['MONGODB_URI', 'mongodb://'],
    ['MONGODB_URI', 'mongodb://host:99999/'],
    ['MONGODB_URI', 'mongodb://host?replicaSet=rs0'],
    ['MONGODB_URI', 'mongodb+srv://a.example.com,b.example.com/'],
    ['MONGODB_URI', 'mongodb+srv://a.example.com:27017/'],
    ['MONGODB_DB', 'my.db'],
    ['MONGODB_DB', 'a'.repeat(64)],
    ['API_TOKEN', 'short'],
    ['API_TOKEN', 'abcdefghijklmnopqrstuvwxyz\n'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'INFO'],
    ['BODY_LIMIT_BYTES', '1023'],
    ['BODY_LIMIT_BYTES', '10485761'],
    ['BODY_LIMIT_BYTES', '64k'],
    ['RUN_RETENTION_DAYS', '0'],
    ['RUN_RETENTION_DAYS', '3651'],
    ['LEASE_NAME', 'Leasecron'],
    ['LEASE_NAME', 'lease_cron'],
    ['LEASE_NAME', '-lease'],
    ['LEASE_DURATION_SECONDS', '15s'],
    ['LEASE_DURATION_SECONDS', '0'],
    ['LEASE_DURATION_SECONDS', '-15'],
    ['RENEW_DEADLINE_SECONDS', '1e1'],
    ['RETRY_PERIOD_SECONDS', '.5'],
    ['RETRY_PERIOD_SECONDS', '0.0001'],
    ['POD_NAMESPACE', 'Team_A'],
    ['LEADER_LABEL', 'leasecron.io/'],
    ['LEADER_LABEL', 'Leasecron.IO/role'],
    ['LEADER_LABEL', 'a/b/c'],
    ['LABEL_POD', 'yes'],
    ['LABEL_POD', 'TRUE'],
    ['SHUTDOWN_TIMEOUT_SECONDS', 'soon'],
    ['SHUTDOWN_TIMEOUT_SECONDS', '3601'],
    ['JOB_NAMESPACES', ' , '],
    ['JOB_NAMESPACES', 'default,Batch'],
    ['MAX_CATCHUP_PER_SCHEDULE', '0'],
    ['MAX_CATCHUP_PER_SCHEDULE', '12abc'],
    ['API_DB_TIMEOUT_MS', '99'],
    ['API_DB_TIMEOUT_MS', '1.5s'],
    ['READY_TIMEOUT_MS', '60001'],
    ['READY_TIMEOUT_MS', '1e3'],
    ['AUTH', 'off'],
    ['AUTH', 'Kubernetes'],
    ['AUTH_CACHE_TTL_SECONDS', '301'],
    ['AUTH_CACHE_TTL_SECONDS', '-1'],
  ])('%s=%j', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.variable).toBe(name);
    expect(error.variables).toEqual([name]);
    expect(error.message).toContain(name);
  });

  it('formats the message as NAME=value reason', () => {
    expect(configError({ PORT: '12abc' }).message).toBe('PORT=12abc must be an integer between 0 and 65535');
  });

  it('never echoes the API token', () => {
    const error = configError({ API_TOKEN: 'secret-ish' });
    expect(error.message).toBe('API_TOKEN must be at least 16 characters (got 10)');
  });

  it('redacts MongoDB credentials in the message', () => {
    const error = configError({ MONGODB_URI: 'mongodb://admin:hunter2@db:27017?authSource=admin' });
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('MONGODB_URI=mongodb://***@db:27017');
  });

  it.each([
    'mongodb://localhost',
    'mongodb://a:27017,b:27018,c/leasecron?replicaSet=rs0',
    'mongodb://user:p%40ss@[::1]:27017/admin',
    'mongodb://%2Ftmp%2Fmongodb-27017.sock',
    'mongodb+srv://cluster0.example.net/db?retryWrites=true',
  ])('accepts MONGODB_URI=%s', (uri) => {
    expect(loadConfig({ MONGODB_URI: uri }, outOfCluster).mongodbUri).toBe(uri);
  });

  it('AUTH=token refuses to start without API_TOKEN; AUTH=none must be asked for', () => {
    expect(configError({ AUTH: 'token' }).variables).toEqual(['API_TOKEN']);
    expect(loadConfig({ AUTH: 'token', API_TOKEN: 'x'.repeat(16) }, outOfCluster).auth).toBe('token');
    expect(loadConfig({ AUTH: 'none' }, outOfCluster).auth).toBe('none');
    expect(loadConfig({ AUTH_CACHE_TTL_SECONDS: '0' }, outOfCluster).authCacheTtlMs).toBe(0);
  });

  it('MongoDB credentials: both or neither, never beside credentials in the URI, never echoed', () => {
    expect(configError({ MONGODB_USERNAME: 'leasecron' }).variables).toEqual(['MONGODB_PASSWORD']);
    expect(configError({ MONGODB_PASSWORD: 'hunter2' }).variables).toEqual(['MONGODB_USERNAME']);
    const both = configError({
      MONGODB_URI: 'mongodb://admin:hunter2@db:27017/',
      MONGODB_USERNAME: 'leasecron',
      MONGODB_PASSWORD: 'swordfish',
    });
    expect(both.variables).toEqual(['MONGODB_USERNAME']);
    expect(both.message).not.toMatch(/hunter2|swordfish/);
    expect(
      loadConfig({ MONGODB_USERNAME: 'leasecron', MONGODB_PASSWORD: 'swordfish' }, outOfCluster).mongodbAuth,
    ).toEqual({ username: 'leasecron', password: 'swordfish' });
  });

  it('reports every problem at once', () => {
    const error = configError({ PORT: 'x', LOG_LEVEL: 'loud', LABEL_POD: 'maybe', API_TOKEN: 'a' });
    expect(error.variables).toEqual(['PORT', 'API_TOKEN', 'LOG_LEVEL', 'LABEL_POD']);
    expect(error.problems).toHaveLength(4);
    expect(error.message).toMatch(
      /^4 configuration problems: PORT=x .*; API_TOKEN .*; LOG_LEVEL=loud .*; LABEL_POD=maybe/,
    );
  });
});

describe('drainBudgetMs', () => {
  it.each([
    [20_000, 15_000],
    [10_000, 5_000],
    [8_000, 4_000],
    [3_600_000, 3_595_000],
    [250, 125],
    [0, 0],
  ])('a %i ms shutdown budget lets running actions finish for %i ms', (shutdown, drain) => {
    expect(drainBudgetMs(shutdown)).toBe(drain);
  });
});

describe('lease timing', () => {
  it('accepts decimal seconds as whole milliseconds', () => {
    const config = loadConfig(
      { LEASE_DURATION_SECONDS: '2', RENEW_DEADLINE_SECONDS: '1.5', RETRY_PERIOD_SECONDS: '0.5' },
      outOfCluster,
    );
    expect([config.leaseDurationMs, config.renewDeadlineMs, config.retryPeriodMs]).toEqual([2000, 1500, 500]);
  });

  it('requires RENEW_DEADLINE < LEASE_DURATION', () => {
    const error = configError({ LEASE_DURATION_SECONDS: '15', RENEW_DEADLINE_SECONDS: '20' });
    expect(error.message).toBe('RENEW_DEADLINE_SECONDS=20 must be less than LEASE_DURATION_SECONDS=15');
    expect(error.variable).toBe('RENEW_DEADLINE_SECONDS');
    expect(configError({ RENEW_DEADLINE_SECONDS: '15' }).variable).toBe('RENEW_DEADLINE_SECONDS');
  });

  it('requires RENEW_DEADLINE > 1.2 × RETRY_PERIOD, exactly at the boundary too', () => {
    const error = configError({ RENEW_DEADLINE_SECONDS: '1.2', RETRY_PERIOD_SECONDS: '1' });
    expect(error.message).toBe('RETRY_PERIOD_SECONDS=1 × 1.2 must be less than RENEW_DEADLINE_SECONDS=1.2');
    expect(error.variable).toBe('RETRY_PERIOD_SECONDS');
    expect(
      loadConfig({ RENEW_DEADLINE_SECONDS: '1.201', RETRY_PERIOD_SECONDS: '1' }, outOfCluster),
    ).toBeTruthy();
    // Checked against the defaults when only one side is set.
    expect(configError({ RETRY_PERIOD_SECONDS: '9' }).message).toBe(
      'RETRY_PERIOD_SECONDS=9 × 1.2 must be less than RENEW_DEADLINE_SECONDS=10',
    );
  });

  it('reports both inequalities together', () => {
    const error = configError({
      LEASE_DURATION_SECONDS: '1',
      RENEW_DEADLINE_SECONDS: '2',
      RETRY_PERIOD_SECONDS: '2',
    });
    expect(error.variables).toEqual(['RENEW_DEADLINE_SECONDS', 'RETRY_PERIOD_SECONDS']);
  });

  it('skips the inequalities when a timing value is itself invalid', () => {
    const error = configError({ LEASE_DURATION_SECONDS: '5', RENEW_DEADLINE_SECONDS: 'ten' });
    expect(error.variables).toEqual(['RENEW_DEADLINE_SECONDS']);
    expect(error.problems).toHaveLength(1);
  });
});

describe('namespace and pod identity', () => {
  it('reads the namespace from the service-account file, trimmed', () => {
    const config = loadConfig({}, inCluster);
    expect(config.podNamespace).toBe('team-a');
    expect(config.jobNamespaces).toEqual(['team-a']);
    expect(config.podName).toBe('leasecron-7c9d-abcde');
  });

  it('falls back to "default" when the file is absent or blank', () => {
    expect(loadConfig({}, outOfCluster).podNamespace).toBe('default');
    expect(loadConfig({}, { ...outOfCluster, readFile: () => ' \n' }).podNamespace).toBe('default');
  });

  it('prefers POD_NAMESPACE over the file', () => {
    const config = loadConfig({ POD_NAMESPACE: 'ops' }, inCluster);
    expect(config.podNamespace).toBe('ops');
    expect(config.jobNamespaces).toEqual(['ops']);
  });

  it('names the file when its content is not a namespace', () => {
    const error = configError({}, { ...outOfCluster, readFile: () => 'Not A Namespace' });
    expect(error.variable).toBe('POD_NAMESPACE');
    expect(error.message).toContain(SERVICE_ACCOUNT_NAMESPACE_FILE);
  });

  it('reports an unreadable namespace file under POD_NAMESPACE', () => {
    const readFile = () => {
      throw new Error('EACCES: permission denied');
    };
    const error = configError({}, { ...outOfCluster, readFile });
    expect(error.variable).toBe('POD_NAMESPACE');
    expect(error.message).toContain('EACCES');
    // Not read at all when both values that need it are given.
    expect(
      loadConfig({ POD_NAMESPACE: 'ops', LABEL_POD: 'false' }, { ...outOfCluster, readFile }),
    ).toBeTruthy();
  });

  it('reports an empty hostname when POD_NAME is unset', () => {
    expect(configError({}, { ...outOfCluster, hostname: () => '' }).variable).toBe('POD_NAME');
  });

  it.each([
    ['POD_NAME from env, in cluster', { POD_NAME: 'leasecron-0' }, inCluster, true],
    ['POD_NAME from env, no namespace file', { POD_NAME: 'leasecron-0' }, outOfCluster, false],
    ['hostname identity, in cluster', {}, inCluster, false],
    ['explicit false wins', { POD_NAME: 'leasecron-0', LABEL_POD: 'false' }, inCluster, false],
    ['explicit 0 wins', { POD_NAME: 'leasecron-0', LABEL_POD: '0' }, inCluster, false],
    ['explicit true wins', { LABEL_POD: 'true' }, outOfCluster, true],
  ] as const)('LABEL_POD: %s → %s', (_case, env, deps, expected) => {
    expect(loadConfig(env, deps).labelPod).toBe(expected);
  });

  it('requires a DNS-1123 pod name only when labelling the pod', () => {
    expect(loadConfig({ POD_NAME: 'Dev Box' }, outOfCluster).podName).toBe('Dev Box');
    const error = configError({ POD_NAME: 'Dev Box', LABEL_POD: 'true' });
    expect(error.variable).toBe('POD_NAME');
    expect(error.message).toContain('LABEL_POD');
  });
});
