// Delegated authentication and authorization, the way aggregated API servers and
// kube-rbac-proxy do it: TokenReview for "who is this token", SubjectAccessReview for "may
// they". Both answers are cached for a short TTL (kube-apiserver's delegated defaults: 10 s),
// keyed by a hash of the token or of the whole question, so a burst costs one review each.
// Needs the ClusterRole system:auth-delegator (create tokenreviews and subjectaccessreviews).
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { deadline } from '../election/deadline.ts';
import { http1Only, withSignal } from '../election/kube-config.ts';
import { AuthUnavailableError, type Reviewer } from './api-auth.ts';
import type { Decision, Principal, ResourceAttributes } from './principal.ts';
import { TtlCache } from './ttl-cache.ts';

export interface KubernetesReviewerOptions {
  kubeConfig: k8s.KubeConfig;
  /** Upper bound of one review request. */
  timeoutMs: number;
  /** How long an answer is reused (both allowed and denied, as kube-apiserver does). */
  cacheTtlMs: number;
  /** TokenReview audiences; empty: the API server's own. */
  audiences?: readonly string[];
  maxEntries?: number;
}

const hash = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64url');

export class KubernetesReviewer implements Reviewer {
  readonly #authn: k8s.AuthenticationV1Api;
  readonly #authz: k8s.AuthorizationV1Api;
  readonly #opts: KubernetesReviewerOptions;
  readonly #tokens: TtlCache<Principal | null>;
  readonly #decisions: TtlCache<Decision>;
  /** reviews on their way, by cache key: concurrent identical questions share one request */
  readonly #inFlight = new Map<string, Promise<unknown>>();
  /** reviews sent to the API server (for tests and metrics) */
  reviewsSent = 0;

  constructor(opts: KubernetesReviewerOptions) {
    this.#opts = opts;
    const kubeConfig = http1Only(opts.kubeConfig);
    this.#authn = kubeConfig.makeApiClient(k8s.AuthenticationV1Api);
    this.#authz = kubeConfig.makeApiClient(k8s.AuthorizationV1Api);
    const maxEntries = opts.maxEntries ?? 10_000;
    this.#tokens = new TtlCache({ maxEntries });
    this.#decisions = new TtlCache({ maxEntries });
  }

  async review(token: string): Promise<Principal | null> {
    const key = `t:${hash(token)}`;
    const cached = this.#tokens.get(key);
    if (cached !== undefined) return cached;
    return this.#once(key, () => this.#reviewToken(key, token));
  }

  async #reviewToken(key: string, token: string): Promise<Principal | null> {
    const body: k8s.V1TokenReview = { spec: { token } };
    if (this.#opts.audiences?.length) body.spec.audiences = [...this.#opts.audiences];
    const answer = await this.#send('TokenReview', (o) => this.#authn.createTokenReview({ body }, o));
    const status = answer.status;
    const principal: Principal | null =
      status?.authenticated && status.user?.username
        ? {
            username: status.user.username,
            ...(status.user.uid ? { uid: status.user.uid } : {}),
            groups: status.user.groups ?? [],
            ...(status.user.extra ? { extra: status.user.extra } : {}),
            superuser: false,
          }
        : null;
    this.#tokens.set(key, principal, this.#opts.cacheTtlMs);
    return principal;
  }

  /**
   * A question about one named object is first asked without the name: a rule without
   * resourceNames allows every name, so the answer for the namespace (one cached review per user,
   * verb and namespace, however many schedules are read) decides when it allows. Only a denial
   * is asked again with the name, for Roles that list resourceNames.
   */
  async access(p: Principal, attrs: ResourceAttributes): Promise<Decision> {
    if (attrs.name === undefined) return this.#decide(p, attrs);
    const { name: _name, ...anyName } = attrs;
    const broad = await this.#decide(p, anyName);
    return broad.allowed ? broad : this.#decide(p, attrs);
  }

  async #decide(p: Principal, attrs: ResourceAttributes): Promise<Decision> {
    const key = `a:${hash(JSON.stringify([p.username, p.uid, p.groups, p.extra, attrs]))}`;
    const cached = this.#decisions.get(key);
    if (cached !== undefined) return cached;
    return this.#once(key, () => this.#reviewAccess(key, p, attrs));
  }

  async #reviewAccess(key: string, p: Principal, attrs: ResourceAttributes): Promise<Decision> {
    const body: k8s.V1SubjectAccessReview = {
      spec: {
        user: p.username,
        groups: [...p.groups],
        resourceAttributes: { ...attrs },
        ...(p.uid ? { uid: p.uid } : {}),
        ...(p.extra ? { extra: p.extra } : {}),
      },
    };
    const answer = await this.#send('SubjectAccessReview', (o) =>
      this.#authz.createSubjectAccessReview({ body }, o),
    );
    const decision: Decision = {
      allowed: answer.status?.allowed === true && answer.status.denied !== true,
      ...(answer.status?.reason ? { reason: answer.status.reason } : {}),
    };
    this.#decisions.set(key, decision, this.#opts.cacheTtlMs);
    return decision;
  }

  #once<T>(key: string, ask: () => Promise<T>): Promise<T> {
    const pending = this.#inFlight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const asked = ask().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, asked);
    return asked;
  }

  async #send<T>(what: string, call: (o: k8s.ConfigurationOptions) => Promise<T>): Promise<T> {
    const scope = deadline(undefined, this.#opts.timeoutMs);
    this.reviewsSent++;
    try {
      return await call(withSignal(scope.signal));
    } catch (err) {
      const detail = err instanceof k8s.ApiException ? `HTTP ${err.code}` : String(err);
      throw new AuthUnavailableError(`Kubernetes did not answer the ${what} (${detail})`, { cause: err });
    } finally {
      scope.dispose();
    }
  }
}
