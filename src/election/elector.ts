// The election loop: client-go's LeaderElector around decide.ts, plus what DESIGN.md asks beyond
// it. Followers poll every jittered retry period and also watch the Lease, so a release or a
// deletion is acted on at once. The leader renews every retry period; a timer armed at each
// successful renew ends leadership when renewDeadline passes without another, even while a renew
// request hangs. Leadership is only ever ended through stepDown(), which calls onStoppedLeading
// synchronously first, so the engine stops firing before anything else happens.
//
// Leadership also depends on being able to lead (issue 10): `canLead` says whether this replica
// can do the leader's work (main: its MongoDB answers, its indexes exist, its engine starts). A
// leader that cannot steps down and releases the Lease so a replica that can takes over at once
// (abdicate); a follower that cannot does not campaign, and one that abdicated waits a lease
// duration before it campaigns again.

import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type Deadline, deadline } from './deadline.ts';
import { decide, isMine, leaseChanged, mayCampaign, releaseSpec } from './decide.ts';
import { followerDelayMs } from './timing.ts';
import { type LeaseClient, LeaseConflictError, LeaseUnavailableError, type ObservedLease } from './types.ts';

export type ElectionLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface ElectorCallbacks {
  /**
   * This replica now holds the Lease. `epoch` is the Lease's leaseTransitions after acquiring;
   * `signal` aborts when this leadership ends (right after onStoppedLeading).
   */
  readonly onStartedLeading?: (epoch: number, signal: AbortSignal) => void;
  /** Leadership ended; called synchronously before anything else. Stop all leader work at once. */
  readonly onStoppedLeading?: () => void;
  /** The Lease names a holder other than the last one reported (never called with ''). */
  readonly onNewLeader?: (identity: string) => void;
}

/**
 * How one renew by the leader ended: `ok`; `error` (the request failed or timed out); `conflict`
 * (another write came first); `late` (answered after the renew deadline). Not reported for a
 * renew cut short by stop().
 */
export type RenewResult = 'ok' | 'error' | 'conflict' | 'late';

export interface ElectorOptions extends ElectorCallbacks {
  readonly client: LeaseClient;
  /** Holder identity written into the Lease (the pod name). */
  readonly identity: string;
  /**
   * Per-process nonce written beside the identity (default: a random UUID), so a second process
   * with the same identity is seen as another holder, not as ourselves.
   */
  readonly nonce?: string;
  /**
   * Whether this replica can do the leader's work now (default: always). Asked before every
   * attempt and every renew; false makes a leader abdicate and a follower abstain. Must be cheap
   * and must not throw (a throw counts as false).
   */
  readonly canLead?: () => boolean;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly logger?: ElectionLogger;
  /** Bound on release() writing the empty holder. */
  readonly releaseTimeoutMs?: number;
  /** Monotonic milliseconds; expiry and deadlines are measured on it. */
  readonly now?: () => number;
  /** Wall clock, only written into the Lease for people and tools. */
  readonly wallClock?: () => Date;
  readonly random?: () => number;
  /** Told of every renew by the leader, with its duration in ms (for metrics); must not throw. */
  readonly onRenew?: (result: RenewResult, durationMs: number) => void;
}

/** The reason on a leadership signal once it aborts. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
}

const silent: ElectionLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class Elector {
  readonly identity: string;
  readonly nonce: string;
  readonly #client: LeaseClient;
  readonly #canLead: () => boolean;
  readonly #callbacks: ElectorCallbacks;
  readonly #log: ElectionLogger;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #releaseTimeoutMs: number;
  readonly #now: () => number;
  readonly #wallClock: () => Date;
  readonly #random: () => number;
  readonly #onRenew: ((result: RenewResult, durationMs: number) => void) | undefined;

  readonly #stopping = new AbortController();
  #started = false;
  #loopDone: Promise<void> = Promise.resolve();
  #watchDone: Promise<void> = Promise.resolve();
  #stopPromise: Promise<void> | undefined;
  #releasePromise: Promise<void> | undefined;

  #observed: ObservedLease | null = null;
  #observedAtMs = 0;
  #reportedHolder = '';
  /** Our last successful write: the base of the next renew and of release. */
  #mine: ObservedLease | undefined;
  /** Defined exactly while leading. */
  #leading: AbortController | undefined;
  #lastRenewOkMs: number | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #wakeRequested = false;
  /** Monotonic time this replica last gave up the Lease because it could not lead. */
  #abdicatedAtMs: number | undefined;

  constructor(options: ElectorOptions) {
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = options;
    // The same rule src/config enforces, repeated because it is what makes the loop safe.
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > 1.2 * retryPeriodMs && retryPeriodMs > 0)) {
      throw new RangeError(
        `need leaseDuration > renewDeadline > 1.2 × retryPeriod > 0, got ${leaseDurationMs}/${renewDeadlineMs}/${retryPeriodMs} ms`,
      );
    }
    this.identity = options.identity;
    this.nonce = options.nonce ?? randomUUID();
    this.#canLead = options.canLead ?? (() => true);
    this.#client = options.client;
    this.#callbacks = options;
    this.#log = options.logger ?? silent;
    this.#leaseDurationMs = leaseDurationMs;
    this.#renewDeadlineMs = renewDeadlineMs;
    this.#retryPeriodMs = retryPeriodMs;
    this.#releaseTimeoutMs = options.releaseTimeoutMs ?? 2_000;
    this.#now = options.now ?? (() => performance.now());
    this.#wallClock = options.wallClock ?? (() => new Date());
    this.#random = options.random ?? Math.random;
    this.#onRenew = options.onRenew;
  }

  get isLeader(): boolean {
    return this.#leading !== undefined;
  }
  /** The holder named by the Lease as last seen; null when free or absent. */
  get leader(): string | null {
    return this.#observed?.holderIdentity || null;
  }
  get leaseTransitions(): number | null {
    return this.#observed?.leaseTransitions ?? null;
  }
  get renewTime(): Date | null {
    return this.#observed?.renewTime ?? null;
  }
  get acquireTime(): Date | null {
    return this.#observed?.acquireTime ?? null;
  }
  get observed(): ObservedLease | null {
    return this.#observed;
  }
  /** Monotonic send time of the last successful acquire/renew; a leader is valid until + renewDeadline. */
  get lastRenewOkMs(): number | undefined {
    return this.#lastRenewOkMs;
  }

  start(): void {
    if (this.#stopping.signal.aborted) throw new Error('a stopped elector cannot be started again');
    if (this.#started) return;
    this.#started = true;
    this.#log.info({}, 'leader election started');
    this.#loopDone = this.#loop();
    this.#watchDone = this.#watchLoop();
  }

  /**
   * Stop campaigning without writing to the Lease (it stays ours until it expires for the
   * others). Ends leadership synchronously, before returning. Idempotent: every call gets the
   * same promise, which resolves when the loop and the watch have ended.
   */
  stop(): Promise<void> {
    if (this.#stopPromise === undefined) {
      this.#stopping.abort(new Error('elector stopped'));
      this.#wakeUp();
      this.#stepDown('elector stopped');
      this.#stopPromise = Promise.allSettled([this.#loopDone, this.#watchDone]).then(() => {
        clearTimeout(this.#deadlineTimer);
      });
    }
    return this.#stopPromise;
  }

  /**
   * Graceful shutdown: stop() and then, if the Lease still names us, clear the holder
   * (releaseSpec) so watching followers take over at once instead of after expiry. Best effort,
   * bounded by releaseTimeoutMs; never rejects. Idempotent like stop().
   */
  release(): Promise<void> {
    this.#releasePromise ??= this.stop().then(() => this.#writeRelease());
    return this.#releasePromise;
  }

  async #loop(): Promise<void> {
    const stopped = this.#stopping.signal;
    while (!stopped.aborted) {
      let expiresInMs: number | undefined;
      try {
        if (this.#leading !== undefined && this.#mine) {
          if (this.#fit()) expiresInMs = await this.#renew(this.#mine);
          else await this.#abdicate();
        } else {
          expiresInMs = await this.#tryAcquire();
        }
      } catch (error) {
        if (stopped.aborted) break;
        this.#log.warn({ err: error, leading: this.isLeader }, 'lease request failed');
      }
      if (stopped.aborted) break;
      await this.#sleep(
        this.isLeader
          ? this.#retryPeriodMs
          : followerDelayMs({ retryPeriodMs: this.#retryPeriodMs, expiresInMs, random: this.#random }),
      );
    }
  }

  /** A follower's attempt (client-go's tryAcquireOrRenew slow path). Returns ms until expiry when following. */
  async #tryAcquire(): Promise<number | undefined> {
    const scope = this.#requestSignal(this.#renewDeadlineMs);
    try {
      return await this.#tryAcquireWith(scope.signal);
    } finally {
      scope.dispose();
    }
  }

  async #tryAcquireWith(signal: AbortSignal): Promise<number | undefined> {
    const observed = await this.#client.get(signal);
    this.#see(observed);
    const nowMs = this.#now();
    const decision = decide({
      observed,
      observedAtMs: this.#observedAtMs,
      me: this.identity,
      nonce: this.nonce,
      canLead: mayCampaign({
        fit: this.#fit(),
        abdicatedAtMs: this.#abdicatedAtMs,
        nowMs,
        holdOffMs: this.#leaseDurationMs,
      }),
      nowMs,
      wallNow: this.#wallClock(),
      leaseDurationSeconds: this.#leaseDurationMs / 1000,
    });
    if (decision.kind === 'follow') return decision.expiresInMs;
    if (decision.kind === 'abstain') return undefined;
    const sentAtMs = this.#now();
    try {
      if (decision.kind === 'release') {
        // Still ours from before (a step-down on the deadline, a release that failed), but we
        // cannot lead: hand it over now instead of letting it expire.
        const released = await this.#client.replace(decision.spec, decision.resourceVersion, signal);
        this.#mine = released;
        this.#see(released);
        this.#log.info({}, 'released the lease: this replica cannot lead');
        return undefined;
      }
      const written =
        decision.kind === 'create'
          ? await this.#client.create(decision.spec, signal)
          : await this.#client.replace(decision.spec, decision.resourceVersion, signal);
      this.#wrote(written, sentAtMs);
    } catch (error) {
      if (!(error instanceof LeaseConflictError)) throw error;
      // Another replica wrote between our get and our write: it won this round.
      this.#log.debug({ decision: decision.kind }, 'lost the race for the lease');
    }
    return undefined;
  }

  /** The leader's renew: replace from our own last write (client-go's fast path), no read first. */
  async #renew(mine: ObservedLease): Promise<undefined> {
    const startedMs = this.#now();
    const remainingMs = (this.#lastRenewOkMs ?? startedMs) + this.#renewDeadlineMs - startedMs;
    const scope = this.#requestSignal(remainingMs);
    let result: RenewResult | undefined = 'error';
    try {
      result = await this.#renewWith(mine, scope.signal);
      return undefined;
    } finally {
      scope.dispose();
      if (result !== undefined && !this.#stopping.signal.aborted) this.#reportRenew(result, startedMs);
    }
  }

  #reportRenew(result: RenewResult, startedMs: number): void {
    try {
      this.#onRenew?.(result, this.#now() - startedMs);
    } catch (error) {
      this.#log.error({ err: error }, 'onRenew threw');
    }
  }

  /** How the renew ended; undefined when no renew was sent. */
  async #renewWith(mine: ObservedLease, signal: AbortSignal): Promise<RenewResult | undefined> {
    const decision = decide({
      observed: mine,
      observedAtMs: this.#observedAtMs,
      me: this.identity,
      nonce: this.nonce,
      canLead: true,
      nowMs: this.#now(),
      wallNow: this.#wallClock(),
      leaseDurationSeconds: this.#leaseDurationMs / 1000,
    });
    if (decision.kind !== 'renew') {
      this.#stepDown(`unexpected decision ${decision.kind} while leading`);
      return undefined;
    }
    const sentAtMs = this.#now();
    try {
      this.#wrote(await this.#client.replace(decision.spec, decision.resourceVersion, signal), sentAtMs);
      // #wrote steps down when the answer came after the renew deadline
      return this.#leading !== undefined ? 'ok' : 'late';
    } catch (error) {
      if (!(error instanceof LeaseConflictError)) throw error;
      // Someone wrote the Lease since our last renew. Read it at once: if it names another holder
      // (or is gone, or cannot be read) we stop leading now rather than at the deadline. If it
      // still names this process (identity and nonce), the write was ours (an earlier renew whose
      // answer was lost to a timeout) or only metadata changed: keep leading and renew from it on
      // the next round. Our identity with another nonce is a second process with our name.
      const fresh = await this.#client.get(signal).catch(() => undefined);
      if (fresh !== undefined) this.#see(fresh);
      if (fresh && isMine(fresh, this.identity, this.nonce)) {
        this.#mine = fresh;
      } else {
        const reason =
          fresh === undefined
            ? 'renew conflict and the lease cannot be read'
            : fresh === null
              ? 'lease deleted'
              : fresh.holderIdentity === this.identity
                ? 'lease taken by another process with this identity'
                : `lease taken by ${fresh.holderIdentity || 'a release'}`;
        this.#stepDown(reason);
      }
    }
    return 'conflict';
  }

  #fit(): boolean {
    try {
      return this.#canLead();
    } catch (error) {
      this.#log.error({ err: error }, 'canLead threw; counting it as unable to lead');
      return false;
    }
  }

  /**
   * We lead but cannot do the leader's work: stop firing at once (stepDown), then clear the
   * holder so a replica that can lead takes over now rather than after the lease expires. The
   * elector keeps running as a follower, held off from campaigning for a lease duration.
   */
  async #abdicate(): Promise<void> {
    this.#abdicatedAtMs = this.#now();
    this.#stepDown('this replica cannot lead (see canLead): handing the lease over');
    await this.#writeRelease();
  }

  /** A successful create/acquire/renew sent at sentAtMs. */
  #wrote(written: ObservedLease, sentAtMs: number): void {
    this.#see(written);
    this.#mine = written;
    // stop()/release() has begun: the Lease names us, but we must not start leading again.
    if (this.#stopping.signal.aborted) return;
    // Others start waiting no earlier than the send, so the deadline counts from it.
    const leftMs = sentAtMs + this.#renewDeadlineMs - this.#now();
    if (leftMs <= 0) {
      this.#stepDown('renew answered after the renew deadline');
      return;
    }
    this.#lastRenewOkMs = sentAtMs;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#stepDown(`no successful renew within the ${this.#renewDeadlineMs} ms renew deadline`),
      leftMs,
    );
    if (this.#leading === undefined) {
      const epoch = written.leaseTransitions ?? 0;
      const leading = new AbortController();
      this.#leading = leading;
      this.#log.info({ epoch }, 'started leading');
      try {
        this.#callbacks.onStartedLeading?.(epoch, leading.signal);
      } catch (error) {
        this.#log.error({ err: error }, 'onStartedLeading threw');
      }
    }
  }

  /** The only way leadership ends. */
  #stepDown(reason: string): void {
    const leading = this.#leading;
    if (leading === undefined) return;
    this.#leading = undefined;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    try {
      this.#callbacks.onStoppedLeading?.();
    } catch (error) {
      this.#log.error({ err: error }, 'onStoppedLeading threw');
    }
    leading.abort(new LeadershipLostError(reason));
    this.#log.warn({ reason }, 'stopped leading');
  }

  /** Record what we saw (client-go's setObservedRecord when the record changed). */
  #see(lease: ObservedLease | null): void {
    if (leaseChanged(this.#observed, lease)) this.#observedAtMs = this.#now();
    this.#observed = lease;
    const holder = lease?.holderIdentity ?? '';
    if (holder === this.#reportedHolder) return;
    this.#reportedHolder = holder;
    if (holder === '') return;
    try {
      this.#callbacks.onNewLeader?.(holder);
    } catch (error) {
      this.#log.error({ err: error }, 'onNewLeader threw');
    }
  }

  async #watchLoop(): Promise<void> {
    const stopped = this.#stopping.signal;
    let resourceVersion: string | undefined;
    while (!stopped.aborted) {
      const startedMs = this.#now();
      try {
        await this.#client.watch(
          (event) => {
            if (event.type === 'upsert') resourceVersion = event.lease.resourceVersion;
            this.#onWatchEvent(event.type === 'upsert' ? event.lease : null);
          },
          { resourceVersion, signal: stopped },
        );
      } catch (error) {
        if (stopped.aborted) break;
        // 410 Gone: our resourceVersion is too old; start over from the current state.
        if (error instanceof LeaseUnavailableError && error.status === 410) resourceVersion = undefined;
        this.#log.debug({ err: error }, 'lease watch failed; polling continues meanwhile');
      }
      // A watch that ends at once again and again must not spin.
      if (!stopped.aborted && this.#now() - startedMs < 1_000) {
        await delay(this.#retryPeriodMs, undefined, { signal: stopped }).catch(() => {});
      }
    }
  }

  #onWatchEvent(lease: ObservedLease | null): void {
    if (this.#stopping.signal.aborted) return;
    if (this.#leading !== undefined) {
      // Watch events lag behind our own writes, so a leader ignores them; only a deletion is
      // worth an immediate renew (it gets a conflict and steps down, or recreates the Lease).
      if (lease === null) this.#wakeUp();
      return;
    }
    this.#see(lease);
    // Released (empty holder) or deleted: free now, try at once instead of at the next poll.
    if (lease === null || !lease.holderIdentity) this.#wakeUp();
  }

  async #writeRelease(): Promise<void> {
    let base = this.#mine;
    if (base === undefined || !isMine(base, this.identity, this.nonce)) return;
    const signal = AbortSignal.timeout(Math.ceil(this.#releaseTimeoutMs));
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const written = await this.#client.replace(
            releaseSpec(base, this.#wallClock()),
            base.resourceVersion,
            signal,
          );
          this.#mine = written;
          this.#see(written);
          this.#log.info({}, 'released the lease');
          return;
        } catch (error) {
          if (!(error instanceof LeaseConflictError) || attempt >= 2) throw error;
          // Most likely a renew that was aborted client-side but landed: release from the fresh record.
          const fresh = await this.#client.get(signal);
          this.#see(fresh);
          if (!fresh || !isMine(fresh, this.identity, this.nonce)) return;
          base = fresh;
        }
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'could not release the lease; the others take over when it expires');
    }
  }

  #requestSignal(timeoutMs: number): Deadline {
    return deadline(this.#stopping.signal, timeoutMs);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#wakeRequested) {
      this.#wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Cut the current sleep short, or the next one if an attempt is in flight. */
  #wakeUp(): void {
    if (this.#wake !== undefined) this.#wake();
    else this.#wakeRequested = true;
  }
}
