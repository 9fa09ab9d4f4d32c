// Example request bodies for POST and PUT /api/v1/schedules, shown in /openapi.json and on
// /docs. Between them they use every schedule kind and every action type; examples.test.ts
// checks that each one is a valid schedule by the same validator the API runs.
import type { ScheduleInputBody } from '../schedule/schema.ts';

export interface RequestExample {
  summary: string;
  value: ScheduleInputBody;
}

export const SCHEDULE_EXAMPLES: Record<string, RequestExample> = {
  cronHttp: {
    summary: 'cron in a time zone, calling a webhook with retries',
    value: {
      name: 'nightly-report',
      schedule: { cron: '0 30 2 * * *', timezone: 'Europe/Berlin' },
      action: {
        type: 'http',
        url: 'http://reports.team-a.svc.cluster.local/run',
        method: 'POST',
        headers: { 'x-team': 'a' },
        body: { kind: 'nightly' },
        timeoutMs: 10_000,
        retry: { maxAttempts: 3, backoffMs: 1000 },
      },
      concurrency: 'forbid',
      misfire: { policy: 'fireOnce', graceSeconds: 300 },
      labels: { team: 'a' },
    },
  },
  everyLog: {
    summary: 'every 30 seconds, writing a log line',
    value: {
      name: 'heartbeat',
      schedule: { every: '30s' },
      action: { type: 'log', message: 'still here' },
      misfire: { policy: 'skip', graceSeconds: 60 },
    },
  },
  atKubernetesJob: {
    summary: 'once at given instants, creating a Kubernetes Job',
    value: {
      name: 'migrate-once',
      schedule: { at: ['2026-12-24T06:00:00Z'] },
      action: {
        type: 'kubernetesJob',
        template: {
          spec: {
            backoffLimit: 0,
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'migrate', image: 'registry.example/migrate:1.4', args: ['--apply'] }],
              },
            },
          },
        },
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 1,
      },
      concurrency: 'forbid',
      maxRuns: 1,
    },
  },
};
