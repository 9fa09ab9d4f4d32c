// Every environment variable leasecron reads, its default and meaning, in one table. The loader
// parses the literal defaults below with the same code as real values, and the README table is
// generated/checked from CONFIG_DOCS, so the documentation cannot drift from the behaviour.

/** Literal defaults, as the raw strings an operator would write. Derived defaults are in load-config.ts. */
export const DEFAULTS = {
  PORT: '8080',
  HOST: '0.0.0.0',
  MONGODB_URI: 'mongodb://127.0.0.1:27017/?directConnection=true',
  MONGODB_DB: 'leasecron',
  LOG_LEVEL: 'info',
  BODY_LIMIT_BYTES: '65536',
  RUN_RETENTION_DAYS: '7',
  LEASE_NAME: 'leasecron-leader',
  LEASE_DURATION_SECONDS: '15',
  RENEW_DEADLINE_SECONDS: '10',
  RETRY_PERIOD_SECONDS: '2',
  LEADER_LABEL: 'leasecron.io/role',
  SHUTDOWN_TIMEOUT_SECONDS: '20',
  MAX_CATCHUP_PER_SCHEDULE: '100',
  MAX_CONCURRENT_RUNS: '500',
  API_DB_TIMEOUT_MS: '1500',
  READY_TIMEOUT_MS: '1000',
  AUTH: 'kubernetes',
  AUTH_CACHE_TTL_SECONDS: '10',
} as const;

export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface ConfigDoc {
  readonly name: string;
  /** A literal value, or a description in parentheses when the default is derived or absent. */
  readonly default: string;
  readonly description: string;
}

export const CONFIG_DOCS = [
  { name: 'PORT', default: DEFAULTS.PORT, description: 'HTTP port of the API (0 picks a free port).' },
  { name: 'HOST', default: DEFAULTS.HOST, description: 'Address the HTTP server binds to.' },
  {
    name: 'MONGODB_URI',
    default: DEFAULTS.MONGODB_URI,
    description: 'MongoDB connection string (mongodb:// or mongodb+srv://); must reach a replica set.',
  },
  { name: 'MONGODB_DB', default: DEFAULTS.MONGODB_DB, description: 'MongoDB database name.' },
  {
    name: 'MONGODB_USERNAME',
    default: '(unset)',
    description:
      'SCRAM user for MongoDB, with MONGODB_PASSWORD (e.g. from a Secret), so the URI needs no credentials; authSource as in MONGODB_URI. Not allowed with credentials in MONGODB_URI.',
  },
  {
    name: 'MONGODB_PASSWORD',
    default: '(unset)',
    description: 'Password of MONGODB_USERNAME; never logged.',
  },
  {
    name: 'AUTH',
    default: DEFAULTS.AUTH,
    description:
      'How /api/ callers are checked: kubernetes (bearer tokens by TokenReview, each request by SubjectAccessReview on schedules.leasecron.io; API_TOKEN also accepted as admin), token (API_TOKEN only), none (no auth at all; must be set explicitly, and is logged and shown as a warning).',
  },
  {
    name: 'API_TOKEN',
    default: '(unset)',
    description:
      'Static admin bearer token, for use outside Kubernetes; at least 16 characters, no whitespace. Required by AUTH=token.',
  },
  {
    name: 'AUTH_CACHE_TTL_SECONDS',
    default: DEFAULTS.AUTH_CACHE_TTL_SECONDS,
    description:
      'How long a TokenReview or SubjectAccessReview answer is reused, 0..300 (0: ask every time).',
  },
  {
    name: 'LOG_LEVEL',
    default: DEFAULTS.LOG_LEVEL,
    description: 'pino level: fatal, error, warn, info, debug, trace or silent.',
  },
  {
    name: 'BUILD_REVISION',
    default: '(unset: `unknown`)',
    description:
      'Source revision of this build (e.g. the git commit), shown as the `revision` label of `leasecron_build_info`; the image sets it.',
  },
  {
    name: 'BODY_LIMIT_BYTES',
    default: DEFAULTS.BODY_LIMIT_BYTES,
    description: 'Largest accepted request body, 1024..10485760 bytes.',
  },
  {
    name: 'RUN_RETENTION_DAYS',
    default: DEFAULTS.RUN_RETENTION_DAYS,
    description: 'Days run history is kept (TTL index), 1..3650.',
  },
  {
    name: 'LEASE_NAME',
    default: DEFAULTS.LEASE_NAME,
    description: 'Name of the coordination.k8s.io/v1 Lease (DNS-1123 subdomain), in POD_NAMESPACE.',
  },
  {
    name: 'LEASE_DURATION_SECONDS',
    default: DEFAULTS.LEASE_DURATION_SECONDS,
    description:
      'How long followers wait without seeing the Lease change before taking it; written into the Lease rounded up to whole seconds. Must exceed RENEW_DEADLINE_SECONDS.',
  },
  {
    name: 'RENEW_DEADLINE_SECONDS',
    default: DEFAULTS.RENEW_DEADLINE_SECONDS,
    description:
      'A leader that has not renewed for this long stops firing and steps down. Must exceed 1.2 × RETRY_PERIOD_SECONDS.',
  },
  {
    name: 'RETRY_PERIOD_SECONDS',
    default: DEFAULTS.RETRY_PERIOD_SECONDS,
    description: 'Interval between acquire/renew attempts (decimals allowed, e.g. 0.5).',
  },
  {
    name: 'POD_NAME',
    default: '(OS hostname)',
    description: 'This replica’s identity in the Lease; set from the downward API (metadata.name).',
  },
  {
    name: 'POD_NAMESPACE',
    default: `(contents of ${SERVICE_ACCOUNT_NAMESPACE_FILE}, else default)`,
    description: 'Namespace of the Lease and of this pod.',
  },
  {
    name: 'KUBECONFIG',
    default: '(unset: in-cluster config, else ~/.kube/config)',
    description: 'Path of a kubeconfig file for the Kubernetes client.',
  },
  {
    name: 'LEADER_LABEL',
    default: DEFAULTS.LEADER_LABEL,
    description: 'Label key the leader sets to "leader" on its own pod.',
  },
  {
    name: 'LABEL_POD',
    default: '(true when POD_NAME is set and the service-account namespace file exists)',
    description: 'Whether the leader labels its pod (true/false/1/0).',
  },
  {
    name: 'SHUTDOWN_TIMEOUT_SECONDS',
    default: DEFAULTS.SHUTDOWN_TIMEOUT_SECONDS,
    description:
      'Upper bound for graceful shutdown after SIGTERM; keep below terminationGracePeriodSeconds. The leader first lets running actions finish for this long less 5 s (less half when shorter than 10 s), still holding the Lease, then aborts what still runs and releases the Lease.',
  },
  {
    name: 'JOB_NAMESPACES',
    default: '(POD_NAMESPACE)',
    description: 'Comma-separated namespaces where kubernetesJob actions may create Jobs.',
  },
  {
    name: 'MAX_CATCHUP_PER_SCHEDULE',
    default: DEFAULTS.MAX_CATCHUP_PER_SCHEDULE,
    description: 'Most missed occurrences fired per schedule by the fireAll misfire policy, 1..10000.',
  },
  {
    name: 'MAX_CONCURRENT_RUNS',
    default: DEFAULTS.MAX_CONCURRENT_RUNS,
    description:
      'Most actions the leader runs at once, 1..100000; more due at the same time wait their turn in claim order (their lateness counts the wait), so a burst of webhooks does not open a socket each at once.',
  },
  {
    name: 'API_DB_TIMEOUT_MS',
    default: DEFAULTS.API_DB_TIMEOUT_MS,
    description:
      'Milliseconds one API request waits for MongoDB in total before it answers 503 with Retry-After, 100..60000; keep below 2000 (answers within 2 s).',
  },
  {
    name: 'READY_TIMEOUT_MS',
    default: DEFAULTS.READY_TIMEOUT_MS,
    description:
      'Milliseconds /readyz waits for MongoDB’s ping before it answers 503, 100..60000; keep below the readiness probe’s timeoutSeconds.',
  },
  {
    name: 'HTTP_ALLOW_CIDRS',
    default: '(none)',
    description:
      'Comma-separated CIDR blocks (IPv4 or IPv6; a bare address is one host) http actions may reach although they are refused by default: loopback 127.0.0.0/8 and ::1, link-local 169.254.0.0/16 (cloud metadata) and fe80::/10, unspecified 0.0.0.0/8 and ::, fd00:ec2::254 and the API server at KUBERNETES_SERVICE_HOST. HTTP_DENY_CIDRS beats it. See docs/security.md.',
  },
  {
    name: 'HTTP_DENY_CIDRS',
    default: '(none)',
    description:
      'Comma-separated CIDR blocks http actions may never reach, whatever HTTP_ALLOW_CIDRS says (e.g. the pod and service ranges).',
  },
  {
    name: 'KUBERNETES_SERVICE_HOST',
    default: '(set by Kubernetes in every pod)',
    description:
      'The API server’s Service address; http actions may not reach it unless HTTP_ALLOW_CIDRS allows it. Must be an IP address when set.',
  },
] as const satisfies readonly ConfigDoc[];

export type ConfigVariable = (typeof CONFIG_DOCS)[number]['name'];
