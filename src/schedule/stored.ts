// Documents in `schedules` are written by the API, but not only by it: mongosh, a
// restore, a script, another version of leasecron. Everything that reads them (the
// engine's snapshot and change stream, API reads) decodes them here, so a malformed
// document becomes a named problem with that one schedule instead of a TypeError in
// whatever touched it first (issue 10: one such document stalled the whole engine).
//
// A stored document is judged by the rules a POST body is judged by (same sub-schemas,
// same defaults for absent optional fields), except that instants are BSON dates and
// unknown top-level fields (the storage-only `labelPairs`, fields of a newer version)
// are ignored rather than refused.
import { z } from 'zod';
import { type FieldError, issuesToFieldErrors } from './field-errors.ts';
import {
  ActionSchema,
  ConcurrencyPolicySchema,
  DescriptionSchema,
  LabelsSchema,
  MaxRunsSchema,
  MisfireSchema,
  NameSchema,
  NamespaceSchema,
  type Schedule,
  ScheduleSourceSchema,
  ScheduleSpecSchema,
} from './schema.ts';

const StoredDateSchema = z.date({ error: 'expected a date' });

export const StoredScheduleSchema = z
  .object({
    _id: z.string({ error: 'expected a string id' }).min(1),
    version: z.int().min(1),
    name: NameSchema,
    // Documents from before namespaces (issue 11) belong to `default` until the start-up
    // migration (store/migrate-namespaces.ts) gives them one.
    namespace: NamespaceSchema.default('default'),
    schedule: ScheduleSpecSchema,
    action: ActionSchema,
    paused: z.boolean().default(false),
    startAt: StoredDateSchema.nullable().default(null),
    endAt: StoredDateSchema.nullable().default(null),
    maxRuns: MaxRunsSchema.nullable().default(null),
    concurrency: ConcurrencyPolicySchema.default('forbid'),
    misfire: MisfireSchema.prefault({}),
    labels: LabelsSchema.default({}),
    description: DescriptionSchema.optional(),
    source: ScheduleSourceSchema.optional(),
    createdAt: StoredDateSchema,
    updatedAt: StoredDateSchema,
  })
  .refine((s) => s.startAt === null || s.endAt === null || s.endAt > s.startAt, {
    path: ['endAt'],
    message: 'endAt must be after startAt',
  });

/** A stored document that is not a schedule: its id, its version if readable, and what is wrong. */
export interface InvalidStoredSchedule {
  /** `String(_id)`, so it matches the id a delete event carries */
  id: string;
  /** the document's `version` when it is a number, else null (any valid version supersedes it) */
  version: number | null;
  errors: FieldError[];
}

export type DecodedSchedule = { ok: true; schedule: Schedule } | ({ ok: false } & InvalidStoredSchedule);

/** A document from `schedules` as a Schedule, or what is wrong with it. Pure; never throws. */
export function decodeStoredSchedule(doc: unknown): DecodedSchedule {
  const result = StoredScheduleSchema.safeParse(doc);
  if (result.success) {
    const { _id, ...rest } = result.data;
    return { ok: true, schedule: { id: _id, ...rest } };
  }
  const raw = (doc !== null && typeof doc === 'object' ? doc : {}) as { _id?: unknown; version?: unknown };
  return {
    ok: false,
    id: raw._id === undefined ? '' : String(raw._id),
    version: typeof raw.version === 'number' && Number.isFinite(raw.version) ? raw.version : null,
    errors:
      doc !== null && typeof doc === 'object'
        ? issuesToFieldErrors(result.error.issues, doc)
        : [{ field: '', message: 'expected a document' }],
  };
}

/** One line for logs and problem details: `schedule: required; action.url: …`. */
export function describeProblems(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field || '(document)'}: ${e.message}`).join('; ');
}
