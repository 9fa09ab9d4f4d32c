// Store errors as classes, so the API and the engine decide with `instanceof`
// (409 vs 412 vs 503, retry vs give up) rather than by matching message text.
import type { FieldError } from '../schedule/field-errors.ts';
import type { ScheduleSource } from '../schedule/schema.ts';
import { describeProblems, type InvalidStoredSchedule } from '../schedule/stored.ts';

export class StoreError extends Error {
  override name = 'StoreError';
}

export class NotFoundError extends StoreError {
  override name = 'NotFoundError';
  readonly id: string;
  constructor(id: string) {
    super(`no schedule with id '${id}'`);
    this.id = id;
  }
}

export class DuplicateNameError extends StoreError {
  override name = 'DuplicateNameError';
  readonly scheduleName: string;
  readonly namespace: string;
  constructor(scheduleName: string, namespace: string, options?: ErrorOptions) {
    super(`a schedule named '${scheduleName}' already exists in namespace '${namespace}'`, options);
    this.scheduleName = scheduleName;
    this.namespace = namespace;
  }
}

/**
 * The schedule is declared by a Schedule object (issue 12): only the controller changes it, so
 * the object in Kubernetes stays the truth (a GitOps tool would undo a change made here anyway).
 */
export class OwnedScheduleError extends StoreError {
  override name = 'OwnedScheduleError';
  readonly id: string;
  readonly source: ScheduleSource;
  constructor(id: string, source: ScheduleSource) {
    super(
      `schedule '${id}' is declared by the Schedule object ${source.namespace}/${source.name} (${source.apiVersion}); change or delete that object instead (kubectl edit schedules.leasecron.io/${source.name} -n ${source.namespace})`,
    );
    this.id = id;
    this.source = source;
  }
}

/** The name is held in its namespace by a schedule made through the API: a Schedule object cannot take it over. */
export class NameTakenError extends StoreError {
  override name = 'NameTakenError';
  readonly scheduleId: string;
  constructor(scheduleName: string, namespace: string, scheduleId: string) {
    super(
      `a schedule named '${scheduleName}' made through the API (id ${scheduleId}) already exists in namespace '${namespace}'; delete it or rename this object`,
    );
    this.scheduleId = scheduleId;
  }
}

export class VersionConflictError extends StoreError {
  override name = 'VersionConflictError';
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number) {
    super(`version mismatch: If-Match asked for version ${expected}, the schedule is at version ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * The stored document is not a valid schedule (written around the API: mongosh, a
 * restore, another version). Reads of that one schedule fail with this; lists skip it.
 */
export class InvalidStoredScheduleError extends StoreError {
  override name = 'InvalidStoredScheduleError';
  readonly id: string;
  readonly version: number | null;
  readonly errors: FieldError[];
  constructor(invalid: InvalidStoredSchedule) {
    super(`the stored schedule '${invalid.id}' is not valid: ${describeProblems(invalid.errors)}`);
    this.id = invalid.id;
    this.version = invalid.version;
    this.errors = invalid.errors;
  }
}

export class InvalidCursorError extends StoreError {
  override name = 'InvalidCursorError';
}

/** The change stream cannot resume from its token (history gone): reload the snapshot. */
export class ChangeHistoryLostError extends StoreError {
  override name = 'ChangeHistoryLostError';
}

/** The database did not answer or failed in a way a retry may fix. */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError';
}

/** A claim was made, but its per-schedule counter was not updated: maxRuns may lag by one. */
export class CounterUpdateError extends StoreError {
  override name = 'CounterUpdateError';
  /** the run that holds the occurrence: the claim itself succeeded */
  readonly runId: string;
  constructor(message: string, runId: string, options?: ErrorOptions) {
    super(message, options);
    this.runId = runId;
  }
}
