import type { EventBus } from '@assay/bus';
import { startPeriodicSweep, type Database } from '@assay/database';
import type { PostgresEventStore } from '@assay/event-store';
import { republishUnscoredRecords } from './unscored-records';

export interface ReconcilerOptions {
  readonly db: Database;
  readonly store: PostgresEventStore;
  readonly bus: Pick<EventBus, 'publish'>;
  /** Longer than JetStream's duplicate window (2 min), or a republish would be dropped as a duplicate. */
  readonly olderThanMs?: number;
  readonly intervalMs?: number;
  readonly log: (msg: string, extra?: object) => void;
}

/** Sweeps for unscored records every `intervalMs`; one replica at a time (advisory lock). */
export function startReconciler(options: ReconcilerOptions): { stop(): Promise<void> } {
  const olderThanMs = options.olderThanMs ?? 5 * 60_000;
  return startPeriodicSweep({
    db: options.db,
    name: 'reconcile-unscored-records',
    intervalMs: options.intervalMs ?? 60_000,
    sweep: (tx) => republishUnscoredRecords({ sql: tx, store: options.store, bus: options.bus, olderThanMs }),
    report: (outcome) =>
      'error' in outcome
        ? options.log('sweep for unscored records failed; next sweep retries', { error: String(outcome.error) })
        : options.log('republished records still lacking a score', { republished: outcome.done, olderThanMs }),
  });
}
