// What the console reads from /api/v1, as far as it uses it. The server's zod schemas
// (src/schedule/schema.ts, src/api/schemas.ts) are the contract; these mirror the parts shown.

export type ScheduleSpec = { cron: string; timezone?: string } | { every: string } | { at: string[] };

export interface Schedule {
  id: string;
  version: number;
  name: string;
  namespace?: string;
  description?: string;
  schedule: ScheduleSpec;
  action: { type: string; [key: string]: unknown };
  paused: boolean;
  startAt: string | null;
  endAt: string | null;
  maxRuns: number | null;
  concurrency: string;
  misfire: { policy: string; graceSeconds: number };
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  nextRunAt: string | null;
  [key: string]: unknown;
}

export interface Run {
  id: string;
  scheduleId: string;
  scheduledFor: string;
  createdAt: string;
  firedAt: string | null;
  finishedAt: string | null;
  status: string;
  attempts: number;
  trigger: string;
  leader: string | null;
  epoch: number | null;
  latenessMs: number | null;
  error: string | null;
  response: { statusCode?: number; durationMs: number; summary?: string } | null;
  job: { namespace: string; name: string } | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Cluster {
  identity: string;
  role: 'leader' | 'follower' | 'unknown';
  leader: string | null;
  leaseTransitions: number | null;
  renewTime: string | null;
  acquireTime: string | null;
  leaseName: string;
  namespace: string;
  auth: { mode: string; warning?: string };
}

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  status: number;
  title: string;
  detail: string;
  errors: FieldError[];
}
