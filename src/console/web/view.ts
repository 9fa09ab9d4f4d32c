// What every page of the console is: something that draws once and then refreshes its data
// in place (every few seconds, without a reload), plus the shared status banner.
import { ApiProblem } from './api.ts';

export interface View {
  /** Fetch and redraw the live parts; forms being edited are left alone. */
  refresh(): Promise<void>;
}

export interface Ctx {
  go(hash: string): void;
  /** Shows an error in the banner; a 401 asks for a token. */
  fail(err: unknown): void;
  /** Clears the banner after a request succeeded. */
  ok(): void;
  flash(message: string): void;
}

export function describeError(err: unknown): string {
  if (err instanceof ApiProblem) return `${err.status}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
