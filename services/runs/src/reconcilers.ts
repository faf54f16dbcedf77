import type { EventBus } from '@assay/bus';
import type { Database } from '@assay/database';
import type { PostgresEventStore } from '@assay/event-store';
import { startExecutionReconciler } from '@assay/execution';
import { startReconciler } from '@assay/runs';
import { intEnv } from '@assay/runtime';

/**
 * The reconcilers, as the runs service and `npm start` run them: records still lacking an outcome,
 * and kicked-off runs lacking executions, are published again from PostgreSQL. Settings:
 * ASSAY_RECONCILE_INTERVAL_MS (0: off) and ASSAY_RECONCILE_AFTER_MS. Undefined when turned off.
 */
export function reconcilersFromEnv(deps: {
  readonly db: Database;
  readonly store: PostgresEventStore;
  readonly bus: Pick<EventBus, 'publish'>;
  readonly log: (msg: string, extra?: object) => void;
}): (() => { stop(): Promise<void> }) | undefined {
  const intervalMs = intEnv('ASSAY_RECONCILE_INTERVAL_MS', 60_000);
  if (intervalMs === 0) return undefined;
  const olderThanMs = intEnv('ASSAY_RECONCILE_AFTER_MS', 5 * 60_000);
  return () => {
    const sweep = { ...deps, intervalMs, olderThanMs };
    const sweeps = [startReconciler(sweep), startExecutionReconciler(sweep)];
    return { stop: async () => void (await Promise.all(sweeps.map((s) => s.stop()))) };
  };
}
