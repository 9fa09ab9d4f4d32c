// Which addresses an http action may connect to (issue 11, "safe http actions"). Anyone who can
// create a schedule chooses the URL, and the leader sends the request from inside the cluster, so
// without a policy the API is a proxy to the node's loopback, the cloud metadata service and the
// Kubernetes API server. One pure decision, used twice: at validation for a URL whose host is an
// IP literal (src/schedule/schema.ts) and at connect time for every address a name resolves to
// (src/actions/egress-fetch.ts).
//
// Precedence, first match wins: HTTP_DENY_CIDRS, then HTTP_ALLOW_CIDRS, then the built-in refusals
// below; an address none of them names is allowed.
import {
  type Cidr,
  cidr,
  cidrContains,
  formatCidr,
  formatIp,
  hostCidr,
  hostIp,
  type Ip,
  unmapIp,
} from './cidr.ts';

export interface RefusedBlock {
  readonly cidr: Cidr;
  /** What the block is, for the error: "loopback", "link-local", … */
  readonly what: string;
}

export interface EgressPolicy {
  /** HTTP_ALLOW_CIDRS: beats the built-in refusals, not HTTP_DENY_CIDRS. */
  readonly allow: readonly Cidr[];
  /** HTTP_DENY_CIDRS: always refused. */
  readonly deny: readonly Cidr[];
  /** Refused unless allowed: BUILT_IN_REFUSALS and the cluster's API server. */
  readonly refused: readonly RefusedBlock[];
}

/** Refused by default. 0.0.0.0/8 and not only 0.0.0.0: Linux connects 0.0.0.0 to the host itself. */
export const BUILT_IN_REFUSALS: readonly RefusedBlock[] = Object.freeze([
  { cidr: cidr('127.0.0.0/8'), what: 'loopback' },
  { cidr: cidr('::1/128'), what: 'loopback' },
  { cidr: cidr('169.254.0.0/16'), what: 'link-local' },
  { cidr: cidr('fe80::/10'), what: 'link-local' },
  { cidr: cidr('0.0.0.0/8'), what: 'unspecified' },
  { cidr: cidr('::/128'), what: 'unspecified' },
  // AWS's instance metadata service over IPv6; its IPv4 address is link-local, above.
  { cidr: cidr('fd00:ec2::254/128'), what: 'cloud metadata' },
]);

export interface EgressPolicyOptions {
  allow?: readonly Cidr[];
  deny?: readonly Cidr[];
  /** The cluster's API server (KUBERNETES_SERVICE_HOST in a pod), refused like the built-ins. */
  apiServer?: Ip | undefined;
}

export function createEgressPolicy(options: EgressPolicyOptions = {}): EgressPolicy {
  const apiServer: RefusedBlock[] =
    options.apiServer === undefined
      ? []
      : [{ cidr: hostCidr(options.apiServer), what: 'the Kubernetes API server' }];
  return Object.freeze({
    allow: Object.freeze([...(options.allow ?? [])]),
    deny: Object.freeze([...(options.deny ?? [])]),
    // The API server first: when it is also, say, loopback, that is the more useful name.
    refused: Object.freeze([...apiServer, ...BUILT_IN_REFUSALS]),
  });
}

/** The built-in refusals only: what runs when nothing was configured (and in tests). */
export const DEFAULT_EGRESS_POLICY: EgressPolicy = createEgressPolicy();

export type EgressVerdict =
  | { allowed: true }
  | {
      allowed: false;
      /** The address refused, canonical (IPv4-mapped IPv6 shown as IPv4). */
      address: string;
      /** Completes "<address> is …", e.g. "loopback (127.0.0.0/8), refused unless HTTP_ALLOW_CIDRS allows it". */
      why: string;
    };

export function checkEgress(policy: EgressPolicy, ip: Ip): EgressVerdict {
  const address = unmapIp(ip);
  const shown = formatIp(address);
  const denied = policy.deny.find((block) => cidrContains(block, address));
  if (denied) return { allowed: false, address: shown, why: `in HTTP_DENY_CIDRS (${formatCidr(denied)})` };
  if (policy.allow.some((block) => cidrContains(block, address))) return { allowed: true };
  const refused = policy.refused.find((r) => cidrContains(r.cidr, address));
  if (refused) {
    return {
      allowed: false,
      address: shown,
      why: `${refused.what} (${formatCidr(refused.cidr)}), refused unless HTTP_ALLOW_CIDRS allows it`,
    };
  }
  return { allowed: true };
}

/**
 * Why the URL's host is refused, when it is an IP literal the policy refuses; null otherwise
 * (names are judged at connect time, after resolution; unparseable URLs are the schema's job).
 */
export function literalHostRefusal(url: string, policy: EgressPolicy): string | null {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return null;
  }
  const ip = hostIp(hostname);
  if (ip === null) return null;
  const verdict = checkEgress(policy, ip);
  return verdict.allowed ? null : `${verdict.address} is ${verdict.why}`;
}
