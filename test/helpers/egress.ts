// Webhook sinks in tests listen on 127.0.0.1, which the egress policy refuses by default
// (docs/security.md). A test that delivers to one allows exactly that address, as an operator
// would with HTTP_ALLOW_CIDRS: replica processes through replicaEnv (stack/replicas.ts),
// in-process engines and validation through the policy and runner below.
import { createHttpAction } from '../../src/actions/http-action.ts';
import { createActionRunner } from '../../src/actions/runner.ts';
import type { ActionRunner } from '../../src/actions/types.ts';
import { cidrs } from '../../src/egress/cidr.ts';
import { createEgressPolicy, type EgressPolicy } from '../../src/egress/policy.ts';
import { LOOPBACK_SINK_CIDRS } from '../../stack/replicas.ts';

export const loopbackSinks: EgressPolicy = createEgressPolicy({ allow: cidrs(LOOPBACK_SINK_CIDRS) });

/** An action runner whose http actions may reach the loopback sinks (and nothing else refused). */
export function sinkActionRunner(): ActionRunner {
  return createActionRunner({ http: createHttpAction({ egress: loopbackSinks }) });
}
