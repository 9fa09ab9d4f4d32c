// Process wiring and graceful shutdown. Every replica serves the API; the one that
// holds the Lease also runs the engine. On SIGTERM: stop starting fires at once, let
// running actions finish while the Lease is still held (within SHUTDOWN_TIMEOUT_SECONDS
// less a reserve), stop leading, release the Lease (so another replica leads within about
// a second and catches up per misfire policy), close the HTTP server, close MongoDB —
// each step runs even if an earlier one fails.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '@hono/node-server';
import { BatchV1Api, EventsV1Api } from '@kubernetes/client-node';
import { MongoClient } from 'mongodb';
import { createHttpAction } from './actions/http-action.ts';
import { createKubernetesJobAction } from './actions/kubernetes-job-action.ts';
import { createActionRunner } from './actions/runner.ts';
import { createApp } from './api/app.ts';
import { buildAuth } from './auth/build.ts';
import { CachedScheduleStore } from './cache/cached-schedule-store.ts';
import { type CacheMetrics, ScheduleCache } from './cache/schedule-cache.ts';
import { type Config, ConfigError, loadConfig } from './config/load-config.ts';
import { ScheduleController } from './crd/controller.ts';
import { EventRecorder } from './crd/events.ts';
import { createElector } from './election/create-elector.ts';
import { fitToLead } from './election/decide.ts';
import { FitnessProbe } from './election/fitness-probe.ts';
import { loadKubeConfig } from './election/kube-config.ts';
import { Engine } from './engine/engine.ts';
import { MissedRuns } from './engine/missed-runs.ts';
import type { EngineMetrics, RunObserver } from './engine/types.ts';
import { JobTracker } from './jobs/job-tracker.ts';
import { createLogger, type Logger } from './log/logger.ts';
import { buildInfo, createMetrics, type Metrics, streamLagSeconds } from './metrics/metrics.ts';
import { ensureIndexes } from './store/indexes.ts';
import { migrateNamespaces } from './store/migrate-namespaces.ts';
import { MongoFeedSource } from './store/mongo-feed.ts';
import { MongoRunStore } from './store/mongo-run-store.ts';
import { MongoScheduleStore } from './store/mongo-schedule-store.ts';

function engineMetrics(m: Metrics['engine']): EngineMetrics {
  return {
    fired: (result, trigger, latenessMs) => {
      m.fires.inc({ result, trigger });
      if (latenessMs !== undefined) m.fireLateness.observe(Math.max(latenessMs, 0) / 1000);
    },
    ran: (action, durationMs, attempts) => {
      m.runDuration.observe({ action }, Math.max(durationMs, 0) / 1000);
      m.runAttempts.observe({ action }, attempts);
    },
    missed: (n) => m.missedOccurrences.inc(n),
    armed: (n) => m.armedSchedules.set(n),
    // The stream is the schedule cache's (cacheMetrics): the engine reads it from memory.
    streamEvent: () => {},
    streamRestart: () => {},
    invalid: (n) => m.invalidSchedules.set(n),
  };
}

function cacheMetrics(m: Metrics): CacheMetrics {
  return {
    streamEvent: (kind, clusterTime) => {
      m.engine.changeStreamEvents.inc({ kind });
      if (clusterTime) m.engine.changeStreamLag.observe(streamLagSeconds(clusterTime, Date.now()));
    },
    streamRestart: (reason) => m.engine.changeStreamRestarts.inc({ reason }),
    size: (n) => m.cache.schedules.set(n),
    sync: (result, ms) => {
      m.cache.reads.inc({ result });
      m.cache.syncDuration.observe(ms / 1000);
    },
  };
}

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(
        `leasecron: invalid configuration:\n${err.problems.map((p) => `  - ${p.message}`).join('\n')}`,
      );
      process.exit(2);
    }
    throw err;
  }
}

/** Retries `f` with backoff until it succeeds or `signal` aborts; false when aborted. */
async function retry(
  what: string,
  logger: Logger,
  signal: AbortSignal,
  f: () => Promise<void>,
): Promise<boolean> {
  let delay = 200;
  while (!signal.aborted) {
    try {
      await f();
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      logger.warn({ err, retryInMs: delay }, `${what} failed; retrying`);
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }
  return false;
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ level: config.logLevel, identity: config.podName });
  const metrics = createMetrics({ build: buildInfo(config.buildRevision) });
  const lifetime = new AbortController();

  // No socketTimeoutMS: it is client-wide and would also cut the engine's change stream and
  // snapshot; and `timeoutMS` is a no-op in driver 7.9. The API bounds its own waits instead
  // (API_DB_TIMEOUT_MS, READY_TIMEOUT_MS; src/api/deadline.ts).
  const mongo = new MongoClient(config.mongodbUri, {
    appName: 'leasecron',
    serverSelectionTimeoutMS: 5000,
    ...(config.mongodbAuth ? { auth: { ...config.mongodbAuth } } : {}),
  });
  const db = mongo.db(config.mongodbDb);
  // A small pool of its own for the short control traffic — the fitness ping, the schedule
  // cache's consistency ping and marker — so it never queues behind API reads or a burst of
  // claims in the main pool (a slow answer there would make a healthy leader step down).
  const control = new MongoClient(config.mongodbUri, {
    appName: 'leasecron-control',
    maxPoolSize: 4,
    serverSelectionTimeoutMS: 5000,
    ...(config.mongodbAuth ? { auth: { ...config.mongodbAuth } } : {}),
  });
  const controlDb = control.db(config.mongodbDb);
  // Every replica keeps the schedules in memory (issue 14): the API reads them from there once
  // the cache has caught up with MongoDB, and a new leader arms from there.
  const cache = new ScheduleCache({
    source: new MongoFeedSource(db, controlDb),
    logger,
    identity: config.podName,
    metrics: cacheMetrics(metrics),
  });
  cache.start();
  const schedules = new CachedScheduleStore(new MongoScheduleStore(db), cache);
  // The leader's own claims and finishes count as MongoDB answering (mongoProbe, below).
  const runs = new MongoRunStore(db, { onAnswer: (sentAtMs) => mongoProbe.noteAnswer(sentAtMs) });
  let indexesReady = false;
  const indexes = retry('creating MongoDB indexes', logger, lifetime.signal, async () => {
    await ensureIndexes(db, { runRetentionDays: config.runRetentionDays });
    const moved = await migrateNamespaces(db, { jobDefaultNamespace: config.podNamespace });
    if (moved > 0) logger.info({ moved }, 'gave schedules stored before namespaces their namespace');
    indexesReady = true;
    logger.info({ db: config.mongodbDb }, 'MongoDB indexes ready');
  });

  const kubeConfig = loadKubeConfig(config.kubeconfig);
  // Follows the kubernetesJob runs' Jobs on the leader; started and stopped with the engine.
  const jobs = new JobTracker({
    kubeConfig,
    namespaces: config.jobNamespaces,
    runs,
    logger,
    now: () => new Date(),
    // a Job's run ends here, not in the engine: Events and status on its Schedule object
    onRunSettled: (scheduleId, runId, status, error) =>
      controller?.observer.finished(scheduleId, runId, status, error ?? undefined),
  });
  const actions = createActionRunner({
    http: createHttpAction({ egress: config.egress }),
    kubernetesJob: createKubernetesJobAction({
      batch: kubeConfig.makeApiClient(BatchV1Api),
      allowedNamespaces: config.jobNamespaces,
      onJob: (job) => jobs.observe(job),
    }),
  });
  // The Schedule controller (issue 12) runs beside the engine, one per leadership term.
  const events = new EventRecorder({
    events: kubeConfig.makeApiClient(EventsV1Api),
    controller: 'leasecron.io/scheduler',
    instance: config.podName,
    logger,
  });
  let controller: { instance: ScheduleController; observer: RunObserver } | null = null;
  const stopController = async () => {
    const c = controller;
    controller = null;
    await c?.instance.stop();
  };
  // Occurrences the misfire policy passes over, as `missed` records in run history (coalesced).
  const missedRuns = new MissedRuns({ write: (records) => runs.recordMissed(records), logger });
  const engine = new Engine({
    missedRuns,
    observer: {
      started: (...a) => controller?.observer.started(...a),
      finished: (...a) => controller?.observer.finished(...a),
      passedOver: (...a) => controller?.observer.passedOver(...a),
    },
    jobs,
    schedules,
    runs,
    // Catch-up starts from the claims the cache has followed; from MongoDB if it cannot vouch for them.
    lastClaimed: async () =>
      (await cache.sync()) === 'caught-up'
        ? runs.lastClaimed(undefined, cache.claimed())
        : runs.lastClaimed(),
    actions,
    identity: config.podName,
    instance: randomUUID(),
    // Defined below; the engine only calls it while leading, after the elector exists.
    leaseValid: () => leaseValid(),
    logger,
    now: () => new Date(),
    metrics: engineMetrics(metrics.engine),
    maxCatchUp: config.maxCatchupPerSchedule,
    maxConcurrentRuns: config.maxConcurrentRuns,
  });

  // Leading needs MongoDB (issue 10): a replica campaigns, and a leader keeps the Lease, only
  // while its own ping answers, its indexes exist and its engine is not stuck failing to start;
  // each may be bad for up to the renew deadline, the patience the Lease itself gets.
  const mongoProbe = new FitnessProbe({
    probe: () => controlDb.command({ ping: 1 }),
    periodMs: config.retryPeriodMs,
    timeoutMs: config.renewDeadlineMs / 2,
    onChange: (ok, err) => {
      metrics.mongodb.up.set(ok ? 1 : 0);
      if (ok) logger.info('MongoDB answers again: this replica can lead');
      else logger.warn({ err }, 'MongoDB ping failed: this replica stops leading if it lasts');
    },
  });
  /** Since when this term's engine keeps failing to start; undefined when started or not leading. */
  let engineTroubleSinceMs: number | undefined;
  const canLead = () =>
    fitToLead({
      ready: indexesReady,
      lastProbeOkMs: mongoProbe.lastOkMs,
      troubleSinceMs: engineTroubleSinceMs,
      nowMs: performance.now(),
      toleranceMs: config.renewDeadlineMs,
    });

  let leaseValid: () => boolean = () => false;
  const { elector, labeler } = createElector(config, {
    kubeConfig,
    logger,
    canLead,
    onRenew: (result, durationMs) => {
      metrics.lease.renewDuration.observe(durationMs / 1000);
      if (result !== 'ok') metrics.lease.renewFailures.inc({ reason: result });
    },
    callbacks: {
      onStartedLeading: (epoch, signal) => {
        metrics.engine.isLeader.set(1);
        metrics.engine.leaderTransitions.inc();
        logger.info({ epoch }, 'became leader');
        const term = AbortSignal.any([signal, lifetime.signal]);
        engineTroubleSinceMs = undefined;
        void (async () => {
          if (!(await indexes)) return; // claims rely on the unique index
          await retry('starting the engine', logger, term, async () => {
            if (term.aborted) return;
            try {
              // Jobs first: concurrency needs the Jobs an earlier leader left running.
              await jobs.start();
              if (term.aborted) return;
              await engine.start(epoch);
              if (!term.aborted) {
                engineTroubleSinceMs = undefined;
                await stopController();
                const instance = new ScheduleController({
                  kubeConfig,
                  namespaces: config.jobNamespaces,
                  schedules,
                  runs,
                  logger,
                  now: () => new Date(),
                  identity: config.podName,
                  events,
                  ...(config.egress ? { egress: config.egress } : {}),
                });
                controller = { instance, observer: instance.observer() };
                instance.start();
              }
            } catch (err) {
              // Only this term's engine: a newer term may have started meanwhile.
              if (!term.aborted) {
                engineTroubleSinceMs ??= performance.now();
                await Promise.all([engine.stop(), jobs.stop()]);
              }
              throw err;
            }
          });
        })();
      },
      onStoppedLeading: () => {
        engineTroubleSinceMs = undefined;
        metrics.engine.isLeader.set(0);
        metrics.engine.leaderTransitions.inc();
        logger.warn('stopped leading: every job stopped');
        void stopController();
        void engine.stop();
        void jobs.stop();
      },
      onNewLeader: (leader) => logger.info({ leader }, 'leader observed'),
    },
  });

  metrics.lease.readTransitionsFrom(() => elector.leaseTransitions);

  leaseValid = () => {
    const renewedAt = elector.lastRenewOkMs;
    return (
      elector.isLeader && renewedAt !== undefined && performance.now() - renewedAt < config.renewDeadlineMs
    );
  };

  const auth = buildAuth(config, kubeConfig);
  if (auth.mode === 'none')
    logger.warn(
      'AUTH=none: the API is open to anyone who can reach it (anyone may create, change and trigger schedules); set AUTH=kubernetes or AUTH=token',
    );
  else logger.info({ auth: auth.mode, staticToken: config.apiToken !== undefined }, 'API authentication');
  const app = createApp({
    auth,
    schedules,
    runs,
    config,
    logger,
    metrics,
    now: () => new Date(),
    ready: async () => {
      if (!indexesReady) return false;
      await db.command({ ping: 1 }); // bounded by READY_TIMEOUT_MS in the /readyz route
      return true;
    },
    cluster: () => ({
      identity: config.podName,
      role: elector.isLeader ? 'leader' : elector.observed ? 'follower' : 'unknown',
      leader: elector.leader,
      leaseTransitions: elector.leaseTransitions,
      renewTime: elector.renewTime?.toISOString() ?? null,
      acquireTime: elector.acquireTime?.toISOString() ?? null,
      leaseName: config.leaseName,
      namespace: config.podNamespace,
    }),
  });

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  }).catch((err: NodeJS.ErrnoException) => {
    logger.fatal({ err }, `cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}`);
    process.exit(1);
  });
  logger.info({ host: config.host, port: config.port, namespace: config.podNamespace }, 'API listening');
  mongoProbe.start();
  elector.start();

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (signal: string): Promise<void> => {
    shuttingDown ??= (async () => {
      logger.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs);
      force.unref();
      lifetime.abort();
      const step = async (name: string, f: () => Promise<unknown>) => {
        try {
          await f();
        } catch (err) {
          logger.warn({ err }, `shutdown: ${name} failed`);
        }
      };
      // Drain while still leading: nothing new starts from here on, and an action under way
      // finishes under a valid Lease (the elector keeps renewing) instead of being cut off
      // with its outcome unknown. Actions still running when the budget ends are aborted and
      // recorded as such. Then stop leading and hand the Lease over.
      await step('draining running actions', async () => {
        const t0 = performance.now();
        const { running, aborted } = await engine.drain(config.drainTimeoutMs);
        if (running > 0)
          logger[aborted > 0 ? 'warn' : 'info'](
            { running, aborted, ms: Math.round(performance.now() - t0), budgetMs: config.drainTimeoutMs },
            aborted > 0
              ? 'shutdown: aborted the actions still running at the end of the drain budget'
              : 'shutdown: running actions finished',
          );
      });
      await step('stopping the Schedule controller', stopController);
      await step('stopping the engine', () => Promise.all([engine.stop(), jobs.stop()]));
      await step('recording missed occurrences', () => missedRuns.close());
      // Only now: canLead reads the ping's last success, so stopping it at the start of the
      // drain made a drain longer than the renew deadline hand the Lease over mid-way and cut
      // off the very deliveries it was waiting for.
      mongoProbe.stop();
      await step('releasing the Lease', () => elector.release());
      await step('removing the leader label', () => Promise.race([labeler.idle(), sleep(2000)]));
      await step('closing the HTTP server', () => {
        server.close();
        if ('closeAllConnections' in server)
          (server as { closeAllConnections(): void }).closeAllConnections();
        return Promise.resolve();
      });
      await step('stopping the schedule cache', () => cache.stop());
      await step('closing MongoDB', () => Promise.all([mongo.close(), control.close()]));
      logger.info('bye');
      process.exit(0);
    })();
    return shuttingDown;
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  console.error('leasecron: fatal error during start-up', err);
  process.exit(1);
});
