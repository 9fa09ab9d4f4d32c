// What a run's record says about how it ended, from what its action reported and why it was
// stopped. The history must never understate deliveries: an action cut off while a request was
// under way is `unknown` (the receiver may have it), never `abandoned` or `failed`.
import type { ActionResult } from '../actions/types.ts';
import type { RunResult } from '../store/types.ts';

/** Why a running action was aborted; `null` when it was not. */
export type StopCause = 'leadership' | 'replaced' | null;

export function runOutcome(result: ActionResult, cause: StopCause): RunResult['status'] {
  switch (result.status) {
    case 'aborted':
      // Nothing was sent. Stopped with its leader: the run was abandoned. Replaced by a newer
      // run of its schedule (concurrency=replace): it failed to run, by design.
      return cause === 'leadership' ? 'abandoned' : 'failed';
    default:
      return result.status;
  }
}
