import type { EventBus } from '@assay/bus';
import { advisoryLockKey, AdvisoryLockNamespace, type Database } from '@assay/database';
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
  const lock = advisoryLockKey(AdvisoryLockNamespace.logProcessor, 'reconcile-unscored-records');
  let running: Promise<void> = Promise.resolve();
  const sweep = async () => {
    try {
      const republished = await options.db.transaction(async (tx) => {
        const [{ locked }] = await tx.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1, $2) as locked', [lock.namespace, lock.id]);
        return locked ? republishUnscoredRecords({ sql: tx, store: options.store, bus: options.bus, olderThanMs }) : 0;
      });
      if (republished > 0) options.log('republished records still lacking a score', { republished, olderThanMs });
    } catch (error) {
      options.log('sweep for unscored records failed; next sweep retries', { error: String(error) });
    }
  };
  const timer = setInterval(() => {
    running = running.then(sweep);
  }, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
