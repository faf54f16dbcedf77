import type { Backend } from '@assay/backend';
import type { GatewayDeps } from './deps';

/** Everything the gateway serves, from one backend: the same wiring in service mode, embedded mode and the tests. */
export function backendDeps(backend: Backend): Omit<GatewayDeps, 'bus' | 'readiness' | 'logger'> {
  return {
    commands: backend.runs.commands,
    queries: backend.runs.queries,
    access: backend.access,
    testsets: backend.testsets,
    systems: backend.systems,
    history: backend.history,
    review: backend.review,
    execution: backend.execution,
  };
}
