// Who is calling, as Kubernetes describes a user (TokenReview's status.user), and what they
// ask to do, as a SubjectAccessReview's resourceAttributes. Pure.

export interface Principal {
  username: string;
  uid?: string;
  groups: readonly string[];
  extra?: Record<string, string[]>;
  /**
   * Allowed everything without asking Kubernetes: the static API_TOKEN (an admin credential for
   * use outside the cluster) and AUTH=none. Never true for a token Kubernetes authenticated.
   */
  superuser: boolean;
}

/** The verbs Kubernetes RBAC uses for resources, plus `use` (a ServiceAccount in a Job template). */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'use';

export interface ResourceAttributes {
  verb: Verb;
  group: string;
  resource: string;
  subresource?: string;
  /** '' asks about every namespace at once (a cluster-wide list) */
  namespace: string;
  name?: string;
}

export interface Decision {
  allowed: boolean;
  /** the authorizer's reason, when it gave one */
  reason?: string;
}

export const LEASECRON_GROUP = 'leasecron.io';

/** Attributes of the virtual `schedules` resource (and its subresources) in group leasecron.io. */
export function scheduleAttributes(
  verb: Verb,
  namespace: string,
  opts: { name?: string; subresource?: 'runs' | 'trigger' } = {},
): ResourceAttributes {
  const attrs: ResourceAttributes = { verb, group: LEASECRON_GROUP, resource: 'schedules', namespace };
  if (opts.subresource !== undefined) attrs.subresource = opts.subresource;
  if (opts.name !== undefined) attrs.name = opts.name;
  return attrs;
}

/** `create jobs.batch in namespace 'a'`, as kubectl auth can-i would put it. */
export function describeAttributes(a: ResourceAttributes): string {
  const resource = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}`;
  const named = a.name ? ` '${a.name}'` : '';
  const where = a.namespace === '' ? 'in all namespaces' : `in namespace '${a.namespace}'`;
  return `${a.verb} ${resource}${named} ${where}`;
}

const SA_PREFIX = 'system:serviceaccount:';

/**
 * The namespace a caller's schedules go to when they name none: a ServiceAccount's own
 * namespace (`system:serviceaccount:<ns>:<name>`), else `default`.
 */
export function defaultNamespaceOf(p: Principal): string {
  if (p.username.startsWith(SA_PREFIX)) {
    const ns = p.username.slice(SA_PREFIX.length).split(':')[0];
    if (ns) return ns;
  }
  return 'default';
}
