import { advisoryLockKey, AdvisoryLockNamespace } from './advisory-lock';
import type { Database } from './database';
import type { Sql } from './sql';

export interface PeriodicSweepOptions {
  readonly db: Database;
  /** Names the advisory lock: replicas running the same sweep take turns, never overlap. */
  readonly name: string;
  readonly intervalMs: number;
  /** One sweep in the lock's transaction; returns how much it did (0: nothing to report). */
  readonly sweep: (tx: Sql) => Promise<number>;
  /** Called when a sweep did something, or failed (the next sweep retries). */
  readonly report: (outcome: { done: number } | { error: unknown }) => void;
}

/**
 * Runs `sweep` every `intervalMs`, one replica at a time: each sweep is one transaction that
 * takes `pg_try_advisory_xact_lock(name)` and skips the round when another replica holds it.
 * Sweeps never overlap within a process either; `stop()` waits for the one in progress.
 */
export function startPeriodicSweep(options: PeriodicSweepOptions): { stop(): Promise<void> } {
  const lock = advisoryLockKey(AdvisoryLockNamespace.logProcessor, options.name);
  let running: Promise<void> = Promise.resolve();
  const once = async () => {
    try {
      const done = await options.db.transaction(async (tx) => {
        const [{ locked }] = await tx.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1, $2) as locked', [lock.namespace, lock.id]);
        return locked ? options.sweep(tx) : 0;
      });
      if (done > 0) options.report({ done });
    } catch (error) {
      options.report({ error });
    }
  };
  const timer = setInterval(() => {
    running = running.then(once);
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
