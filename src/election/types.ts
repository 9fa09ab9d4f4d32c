// The narrow seam between the elector and Kubernetes: the Lease as the elector sees it, the
// four calls it needs, and the two errors it decides on. The elector loop and decide.ts never
// import @kubernetes/client-node; an implementation of LeaseClient does, bound to one Lease.

/** The parts of a coordination.k8s.io/v1 Lease the election reads; null where the field is absent. */
export interface ObservedLease {
  readonly holderIdentity: string | null;
  readonly leaseDurationSeconds: number | null;
  readonly acquireTime: Date | null;
  readonly renewTime: Date | null;
  readonly leaseTransitions: number | null;
  /**
   * The writing process's nonce (annotation HOLDER_NONCE_ANNOTATION): tells two processes that
   * carry the same identity apart, so neither takes the other's write for its own.
   */
  readonly holderNonce: string | null;
  readonly resourceVersion: string;
}

/** Where the holder's per-process nonce is kept: written in the same PUT as the spec. */
export const HOLDER_NONCE_ANNOTATION = 'leasecron.io/holder-nonce';

/** A complete LeaseSpec to write; every field is set, as client-go writes it. */
export interface LeaseSpec {
  /** '' means free (released). */
  readonly holderIdentity: string;
  /** Whole seconds (the API field is int32). */
  readonly leaseDurationSeconds: number;
  readonly acquireTime: Date;
  readonly renewTime: Date;
  readonly leaseTransitions: number;
  /** The writer's per-process nonce; '' (annotation removed) on release. */
  readonly holderNonce: string;
}

export type LeaseWatchEvent = { type: 'upsert'; lease: ObservedLease } | { type: 'deleted' };

/**
 * Operations on the single Lease named by LEASE_NAME in POD_NAMESPACE.
 *
 * Every call honours `signal` (the loop bounds each call by its renew deadline) and rejects with
 * LeaseUnavailableError, `cause` = the abort reason, when it is aborted.
 */
export interface LeaseClient {
  /** The Lease, or null when it does not exist (404). */
  get(signal?: AbortSignal): Promise<ObservedLease | null>;

  /** Create the Lease. LeaseConflictError when it already exists (409 AlreadyExists). */
  create(spec: LeaseSpec, signal?: AbortSignal): Promise<ObservedLease>;

  /**
   * Replace the Lease's spec only if it is still at `resourceVersion` (optimistic concurrency).
   * LeaseConflictError on 409 Conflict, and also on 404: either way the record the write was based
   * on is gone, so the caller must re-read and decide again.
   */
  replace(spec: LeaseSpec, resourceVersion: string, signal?: AbortSignal): Promise<ObservedLease>;

  /**
   * Stream changes of the Lease until `signal` aborts (resolves) or the server ends the watch
   * (resolves; the caller re-gets and watches again). Starts after `resourceVersion` when given,
   * so nothing between a get and the watch is missed; without it the current Lease is delivered
   * first as an upsert. Rejects with LeaseUnavailableError when the watch cannot start or breaks,
   * including 410 Gone for a too-old resourceVersion.
   */
  watch(
    onEvent: (event: LeaseWatchEvent) => void,
    options: { resourceVersion?: string; signal: AbortSignal },
  ): Promise<void>;
}

/** Someone else wrote the Lease first: re-read it; as a leader, stop leading at once. */
export class LeaseConflictError extends Error {
  override readonly name = 'LeaseConflictError';
}

/** The API could not be reached or refused the call (anything but a conflict); retry later. */
export class LeaseUnavailableError extends Error {
  override readonly name = 'LeaseUnavailableError';
  /** HTTP status when the API answered, undefined for network errors and aborts. */
  readonly status: number | undefined;

  constructor(message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
  }
}
