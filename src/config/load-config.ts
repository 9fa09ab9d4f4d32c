// Turns the environment into a validated, frozen Config once at start-up. Pure apart from the
// injected deps; every problem is collected and thrown together as one ConfigError naming each
// variable, so a bad Deployment fails fast with a message an operator can act on.

import type { AuthMode } from '../auth/api-auth.ts';
import { parseCidrList, parseIp } from '../egress/cidr.ts';
import { createEgressPolicy, type EgressPolicy } from '../egress/policy.ts';
import { type ConfigVariable, DEFAULTS, SERVICE_ACCOUNT_NAMESPACE_FILE } from './config-docs.ts';
import { ConfigError, type ConfigProblem } from './config-error.ts';
import {
  fail,
  isDns1123Label,
  isDns1123Subdomain,
  isLabelKey,
  mongoUriHasCredentials,
  ok,
  type Parsed,
  parseBoolean,
  parseInteger,
  parseMongoDbName,
  parseMongoUri,
  parseOneOf,
  parseSecondsToMs,
  redactMongoUri,
} from './parsers.ts';
import { type ConfigDeps, systemConfigDeps } from './system-deps.ts';

export { CONFIG_DOCS, type ConfigDoc, type ConfigVariable, DEFAULTS } from './config-docs.ts';
export { ConfigError, type ConfigProblem } from './config-error.ts';
export type { ConfigDeps } from './system-deps.ts';

export const AUTH_MODES = ['kubernetes', 'token', 'none'] as const satisfies readonly AuthMode[];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** client-go's JitterFactor: retries sleep up to 1.2 × RETRY_PERIOD, which must fit in the renew deadline. */
export const JITTER_FACTOR = 1.2;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly mongodbUri: string;
  readonly mongodbDb: string;
  /** MONGODB_USERNAME / MONGODB_PASSWORD: SCRAM credentials kept out of the URI. */
  readonly mongodbAuth: { readonly username: string; readonly password: string } | undefined;
  readonly apiToken: string | undefined;
  /** AUTH: how /api/ callers are authenticated and authorized (src/auth/api-auth.ts). */
  readonly auth: AuthMode;
  readonly authCacheTtlMs: number;
  readonly logLevel: LogLevel;
  /** BUILD_REVISION: the source revision of this build, for leasecron_build_info. */
  readonly buildRevision: string | undefined;
  readonly bodyLimitBytes: number;
  readonly runRetentionDays: number;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** Holder identity in the Lease, and the pod the leader labels. */
  readonly podName: string;
  readonly podNamespace: string;
  readonly kubeconfig: string | undefined;
  readonly leaderLabel: string;
  readonly labelPod: boolean;
  readonly shutdownTimeoutMs: number;
  /** The part of shutdownTimeoutMs running actions may use to finish (drainBudgetMs). */
  readonly drainTimeoutMs: number;
  readonly jobNamespaces: readonly string[];
  readonly maxCatchupPerSchedule: number;
  readonly maxConcurrentRuns: number;
  /** Total time one API request may wait for MongoDB before it answers 503. */
  readonly apiDbTimeoutMs: number;
  /** Time /readyz waits for MongoDB's answer before it reports not ready. */
  readonly readyTimeoutMs: number;
  /** Where http actions may connect (HTTP_ALLOW_CIDRS, HTTP_DENY_CIDRS, KUBERNETES_SERVICE_HOST). */
  readonly egress: EgressPolicy;
}

const TIMING = ['LEASE_DURATION_SECONDS', 'RENEW_DEADLINE_SECONDS', 'RETRY_PERIOD_SECONDS'] as const;
const MAX_LEASE_TIMING_SECONDS = 86_400;
const DNS_LABEL_RULE = 'a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)';

export function loadConfig(env: Record<string, string | undefined>, deps: Partial<ConfigDeps> = {}): Config {
  const { readFile, hostname } = { ...systemConfigDeps, ...deps };
  const problems: ConfigProblem[] = [];
  const report = (variable: ConfigVariable, message: string) => problems.push({ variable, message });
  // Kubernetes renders `value: ""` as an empty variable; treating it as unset avoids `PORT=` → 0.
  const get = (name: ConfigVariable): string | undefined => (env[name] === '' ? undefined : env[name]);
  const rawOrDefault = (name: keyof typeof DEFAULTS) => get(name) ?? DEFAULTS[name];

  function withDefault<T>(
    name: keyof typeof DEFAULTS,
    parse: (raw: string) => Parsed<T>,
    show: (raw: string) => string = (raw) => raw,
  ): T {
    const parsed = parse(rawOrDefault(name));
    if (parsed.ok) return parsed.value;
    report(name, `${name}=${show(rawOrDefault(name))} ${parsed.reason}`);
    // A placeholder so loading can go on and report the other variables; never returned.
    const fallback = parse(DEFAULTS[name]);
    if (!fallback.ok) throw new Error(`default of ${name} does not parse: ${fallback.reason}`);
    return fallback.value;
  }

  let namespaceFile: { content: string | undefined } | undefined;
  const readNamespaceFile = (): string | undefined => {
    if (namespaceFile === undefined) {
      namespaceFile = { content: undefined };
      try {
        namespaceFile.content = readFile(SERVICE_ACCOUNT_NAMESPACE_FILE);
      } catch (error) {
        report(
          'POD_NAMESPACE',
          `POD_NAMESPACE is unset and ${SERVICE_ACCOUNT_NAMESPACE_FILE} cannot be read: ${error}`,
        );
      }
    }
    return namespaceFile.content;
  };

  const port = withDefault('PORT', (r) => parseInteger(r, 0, 65_535));
  const host = withDefault('HOST', ok);
  const mongodbUri = withDefault('MONGODB_URI', parseMongoUri, redactMongoUri);
  const mongodbDb = withDefault('MONGODB_DB', parseMongoDbName);

  const mongodbUsername = get('MONGODB_USERNAME');
  const mongodbPassword = get('MONGODB_PASSWORD');
  let mongodbAuth: Config['mongodbAuth'];
  if ((mongodbUsername === undefined) !== (mongodbPassword === undefined)) {
    const missing = mongodbUsername === undefined ? 'MONGODB_USERNAME' : 'MONGODB_PASSWORD';
    report(
      missing,
      `${missing} must be set together with ${missing === 'MONGODB_USERNAME' ? 'MONGODB_PASSWORD' : 'MONGODB_USERNAME'}`,
    );
  } else if (mongodbUsername !== undefined && mongodbPassword !== undefined) {
    if (mongoUriHasCredentials(mongodbUri))
      report(
        'MONGODB_USERNAME',
        'MONGODB_USERNAME/MONGODB_PASSWORD and credentials in MONGODB_URI: give them one way only',
      );
    else mongodbAuth = { username: mongodbUsername, password: mongodbPassword };
  }

  const apiToken = get('API_TOKEN');
  if (apiToken !== undefined) {
    // Never echo the token itself into logs.
    if (/\s/.test(apiToken)) {
      report('API_TOKEN', 'API_TOKEN must not contain whitespace (a trailing newline from a Secret file?)');
    } else if (apiToken.length < 16) {
      report('API_TOKEN', `API_TOKEN must be at least 16 characters (got ${apiToken.length})`);
    }
  }

  const auth = withDefault('AUTH', (r) => parseOneOf(r, AUTH_MODES));
  // Refuse to start without credentials rather than serve an open API by accident.
  if (auth === 'token' && apiToken === undefined)
    report(
      'API_TOKEN',
      'AUTH=token needs API_TOKEN (or use AUTH=kubernetes, or AUTH=none to run without auth)',
    );
  const authCacheTtlMs = withDefault('AUTH_CACHE_TTL_SECONDS', (r) => parseInteger(r, 0, 300)) * 1000;

  const logLevel = withDefault('LOG_LEVEL', (r) => parseOneOf(r, LOG_LEVELS));
  const buildRevision = get('BUILD_REVISION');
  if (buildRevision !== undefined && !/^[\w.+-]{1,64}$/.test(buildRevision))
    report(
      'BUILD_REVISION',
      'BUILD_REVISION must be 1..64 letters, digits, dots, dashes, pluses or underscores',
    );
  const bodyLimitBytes = withDefault('BODY_LIMIT_BYTES', (r) => parseInteger(r, 1024, 10 * 1024 * 1024));
  const runRetentionDays = withDefault('RUN_RETENTION_DAYS', (r) => parseInteger(r, 1, 3650));
  const leaseName = withDefault('LEASE_NAME', (r) =>
    isDns1123Subdomain(r)
      ? ok(r)
      : fail('must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)'),
  );

  const timing = (name: (typeof TIMING)[number]) =>
    withDefault(name, (r) => parseSecondsToMs(r, MAX_LEASE_TIMING_SECONDS));
  const leaseDurationMs = timing('LEASE_DURATION_SECONDS');
  const renewDeadlineMs = timing('RENEW_DEADLINE_SECONDS');
  const retryPeriodMs = timing('RETRY_PERIOD_SECONDS');
  if (!problems.some((p) => (TIMING as readonly string[]).includes(p.variable))) {
    const [lease, renew, retry] = TIMING.map((name) => `${name}=${rawOrDefault(name)}`);
    if (renewDeadlineMs >= leaseDurationMs) {
      report('RENEW_DEADLINE_SECONDS', `${renew} must be less than ${lease}`);
    }
    // Integer form of renew > 1.2 × retry, free of floating-point error.
    if (5 * renewDeadlineMs <= 6 * retryPeriodMs) {
      report('RETRY_PERIOD_SECONDS', `${retry} × ${JITTER_FACTOR} must be less than ${renew}`);
    }
  }

  const podNameFromEnv = get('POD_NAME');
  const podName = podNameFromEnv ?? hostname();
  if (podName === '') report('POD_NAME', 'POD_NAME is unset and the hostname is empty');

  const podNamespaceFromEnv = get('POD_NAMESPACE');
  const podNamespace = podNamespaceFromEnv ?? (readNamespaceFile()?.trim() || 'default');
  if (!isDns1123Label(podNamespace)) {
    const source = podNamespaceFromEnv === undefined ? ` (read from ${SERVICE_ACCOUNT_NAMESPACE_FILE})` : '';
    report('POD_NAMESPACE', `POD_NAMESPACE=${podNamespace}${source} must be ${DNS_LABEL_RULE}`);
  }

  const kubeconfig = get('KUBECONFIG');
  const leaderLabel = withDefault('LEADER_LABEL', (r) =>
    isLabelKey(r) ? ok(r) : fail('must be a Kubernetes label key ([prefix/]name, e.g. leasecron.io/role)'),
  );

  const labelPodRaw = get('LABEL_POD');
  let labelPod: boolean;
  if (labelPodRaw === undefined) {
    // Only label when we clearly run as a pod: identity from the downward API and in-cluster files.
    labelPod = podNameFromEnv !== undefined && readNamespaceFile() !== undefined;
  } else {
    const parsed = parseBoolean(labelPodRaw);
    labelPod = parsed.ok && parsed.value;
    if (!parsed.ok) report('LABEL_POD', `LABEL_POD=${labelPodRaw} ${parsed.reason}`);
  }
  if (labelPod && podName !== '' && !isDns1123Subdomain(podName)) {
    report(
      'POD_NAME',
      `POD_NAME=${podName} must be a DNS-1123 subdomain when LABEL_POD is true (it names the pod)`,
    );
  }

  const shutdownTimeoutMs = withDefault('SHUTDOWN_TIMEOUT_SECONDS', (r) => parseSecondsToMs(r, 3600));
  const jobNamespaces = parseJobNamespaces(get('JOB_NAMESPACES'), podNamespace, report);
  const maxCatchupPerSchedule = withDefault('MAX_CATCHUP_PER_SCHEDULE', (r) => parseInteger(r, 1, 10_000));
  const maxConcurrentRuns = withDefault('MAX_CONCURRENT_RUNS', (r) => parseInteger(r, 1, 100_000));
  const apiDbTimeoutMs = withDefault('API_DB_TIMEOUT_MS', (r) => parseInteger(r, 100, 60_000));
  const readyTimeoutMs = withDefault('READY_TIMEOUT_MS', (r) => parseInteger(r, 100, 60_000));
  const egress = parseEgress(get, report);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host,
    mongodbUri,
    mongodbDb,
    mongodbAuth,
    apiToken,
    auth,
    authCacheTtlMs,
    logLevel,
    buildRevision,
    bodyLimitBytes,
    runRetentionDays,
    leaseName,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    podName,
    podNamespace,
    kubeconfig,
    leaderLabel,
    labelPod,
    shutdownTimeoutMs,
    drainTimeoutMs: drainBudgetMs(shutdownTimeoutMs),
    jobNamespaces,
    maxCatchupPerSchedule,
    maxConcurrentRuns,
    apiDbTimeoutMs,
    readyTimeoutMs,
    egress,
  });
}

/** What shutdown keeps back from the drain: aborting and recording the runs still going,
 * releasing the Lease (bounded at 2 s), removing the leader label (2 s), closing servers. */
export const SHUTDOWN_RESERVE_MS = 5_000;

/**
 * How long a leader on SIGTERM lets running actions finish, still holding the Lease, before it
 * aborts them and releases it: the shutdown budget less a reserve for those last steps (at most
 * SHUTDOWN_RESERVE_MS, at most half the budget).
 */
export function drainBudgetMs(shutdownTimeoutMs: number): number {
  return Math.max(0, shutdownTimeoutMs - Math.min(SHUTDOWN_RESERVE_MS, shutdownTimeoutMs / 2));
}

function parseEgress(
  get: (name: ConfigVariable) => string | undefined,
  report: (variable: ConfigVariable, message: string) => void,
): EgressPolicy {
  const list = (name: 'HTTP_ALLOW_CIDRS' | 'HTTP_DENY_CIDRS') => {
    const raw = get(name);
    if (raw === undefined) return [];
    const parsed = parseCidrList(raw);
    if (parsed.ok) return parsed.cidrs;
    report(
      name,
      `${name}=${raw} must be comma-separated CIDR blocks (e.g. 10.0.0.0/8,fd00::/8): ${parsed.reason}`,
    );
    return [];
  };
  const allow = list('HTTP_ALLOW_CIDRS');
  const deny = list('HTTP_DENY_CIDRS');
  const host = get('KUBERNETES_SERVICE_HOST');
  const apiServer = host === undefined ? undefined : parseIp(host);
  if (apiServer === null) {
    report(
      'KUBERNETES_SERVICE_HOST',
      `KUBERNETES_SERVICE_HOST=${host} must be an IP address (Kubernetes sets it to the API server's ClusterIP); http actions are kept away from it`,
    );
  }
  return createEgressPolicy({ allow, deny, apiServer: apiServer ?? undefined });
}

function parseJobNamespaces(
  raw: string | undefined,
  podNamespace: string,
  report: (variable: ConfigVariable, message: string) => void,
): readonly string[] {
  if (raw === undefined) return Object.freeze([podNamespace]);
  const list = [...new Set(raw.split(',').map((s) => s.trim()))].filter((s) => s !== '');
  const bad = list.filter((s) => !isDns1123Label(s));
  if (list.length === 0) report('JOB_NAMESPACES', `JOB_NAMESPACES=${raw} must list at least one namespace`);
  if (bad.length > 0) {
    report(
      'JOB_NAMESPACES',
      `JOB_NAMESPACES=${raw} has invalid namespaces (${bad.join(', ')}): each must be ${DNS_LABEL_RULE}`,
    );
  }
  return Object.freeze(list);
}
