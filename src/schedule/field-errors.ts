// The API promises a 400 that names each bad field. Zod reports issues in its own
// shape (unknown keys bundled per object, union failures nested per branch), so this
// module turns them into one `{ field, message }` per offending field.
import type { z } from 'zod';

export interface FieldError {
  /** Dotted path into the request body, e.g. `schedule.cron`, `action.retry.maxAttempts`; `''` for the body itself. */
  field: string;
  message: string;
}

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** One FieldError per bad field (several problems with one field are joined with `; `), in report order. */
export function issuesToFieldErrors(issues: readonly Issue[], input: unknown): FieldError[] {
  const byField = new Map<string, string[]>();
  const add = (path: Path, message: string): void => {
    const field = path.map(String).join('.');
    const messages = byField.get(field) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byField.set(field, messages);
  };

  const visit = (issue: Issue, prefix: Path): void => {
    const path = [...prefix, ...issue.path];
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) add([...path, key], `unknown field '${key}'`);
        return;
      case 'invalid_union': {
        // A discriminated union names its options in its message; keep that one.
        if (path.length > 0 && issue.errors.length > 0 && valueAt(input, path) === undefined) {
          add(path, 'required');
          return;
        }
        const branch = claimingBranch(issue.errors, path, input);
        if (branch) for (const inner of branch) visit(inner, path);
        else add(path, issue.message);
        return;
      }
      case 'invalid_key':
        add(path, `invalid key '${String(path.at(-1))}': ${issue.issues.map((i) => i.message).join('; ')}`);
        return;
      case 'invalid_type':
        add(path, path.length > 0 && valueAt(input, path) === undefined ? 'required' : issue.message);
        return;
      default:
        add(path, issue.message);
    }
  };

  for (const issue of issues) visit(issue, []);
  return [...byField].map(([field, messages]) => ({ field, message: messages.join('; ') }));
}

/**
 * The one union branch the input was evidently meant for: the branch whose only
 * problems are inside fields the input supplied. `{ cron: 'bad' }` claims the cron
 * branch (the others miss a required key); `{ cron, every }` claims two, so neither
 * is reported and the union's own message ("exactly one of …") is used instead.
 */
function claimingBranch(branches: readonly (readonly Issue[])[], unionPath: Path, input: unknown) {
  const claiming = branches.filter(
    (issues) =>
      !issues.some(
        (i) =>
          i.code === 'invalid_type' &&
          (i.path.length === 0 || valueAt(input, [...unionPath, ...i.path]) === undefined),
      ),
  );
  return claiming.length === 1 ? claiming[0] : undefined;
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
