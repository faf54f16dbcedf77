import { advisoryLockKey, AdvisoryLockNamespace, Database, Sql } from '@assay/database';
import { logLine } from './log';
import type { PostgresEventStore } from './postgres-event-store';
import { samePosition } from './stored-event-row';
import type { StoredEvent } from './types';

export interface LogProcessorOptions<R = void> {
  /** Checkpoint name and lock name: replicas with the same name share one position. */
  readonly name: string;
  /** Only these event types reach `handle` (the checkpoint still moves past the others). */
  readonly types?: readonly string[];
  /** Most events per `handle` call (and per transaction). */
  readonly batchSize: number;
  /** Longest wait between rounds when no wake-up comes (wake-ups can be lost; polls cannot). */
  readonly pollIntervalMs: number;
  /**
   * Called with each batch inside the processor's transaction. Write through `tx` and the writes
   * commit together with the checkpoint. Throwing rolls both back; the batch is retried.
   */
  handle(events: StoredEvent[], tx: Sql): Promise<R>;
  /**
   * Called with what `handle` returned once its transaction has committed: the place for effects
   * that must not run for a batch that could still roll back (e.g. broadcasting the new state).
   */
  afterCommit?(result: R): void;
  /** Told about every failed round (also logged); the processor keeps retrying regardless. */
  onError?(error: unknown): void;
}

export interface LogProcessor {
  /** Finishes the batch in progress (committing it), then stops. */
  stop(): Promise<void>;
  /**
   * Resolves once this processor's checkpoint has reached the end of the log as it stood when
   * a round starting after this call read it (whichever replica did the work).
   */
  waitUntilCaughtUp(): Promise<void>;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

type RoundOutcome<R> =
  | { kind: 'handled'; full: boolean; result?: { value: R } } // this replica held the lock and read a batch
  | { kind: 'locked'; caughtUp: boolean }; // another replica holds it

/**
 * Follows the global log from a named checkpoint. Each round is ONE transaction:
 *
 *   pg_try_advisory_xact_lock(name)  another replica has it → skip the round
 *   load checkpoint → readAll after it → handle(events, tx) → save checkpoint → COMMIT
 *
 * So the handler's database writes and the checkpoint commit together: a projection written
 * through `tx` sees each event exactly once, across crashes, restarts and replicas. A handler
 * with effects elsewhere (publishing to NATS) is at-least-once: a crash after the publish and
 * before COMMIT publishes the batch again, so downstream must deduplicate (by event id).
 *
 * The advisory lock assigns no transaction id, so a waiting or idle processor holds back no
 * other reader's horizon; only the handler's own writes do, until COMMIT: keep batches short.
 *
 * Full batch → next round at once. Otherwise wait for a wake-up (onAppended) or pollIntervalMs.
 * A failed round is logged, reported to onError, and retried after a growing backoff: the
 * processor never stops on its own.
 */
export function startLogProcessor<R = void>(store: PostgresEventStore, db: Database, options: LogProcessorOptions<R>): LogProcessor {
  const { name, types, batchSize, pollIntervalMs, handle, afterCommit, onError } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
  const lock = advisoryLockKey(AdvisoryLockNamespace.logProcessor, name);

  let stopping = false;
  let woken = false;
  let wakeSleeper: (() => void) | undefined;
  let stopSleeper: (() => void) | undefined;
  let roundsStarted = 0;
  const caughtUpWaiters: { afterRound: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  const wake = () => {
    woken = true;
    wakeSleeper?.();
  };
  const unsubscribe = store.onAppended(wake);

  /** Sleeps `ms`, or less if woken (when `wakeable`) or stopped. */
  const pause = (ms: number, wakeable: boolean) =>
    new Promise<void>((resolve) => {
      if (stopping || (wakeable && woken)) return resolve();
      const timer = setTimeout(done, ms);
      wakeSleeper = wakeable ? done : undefined;
      stopSleeper = done;
      function done() {
        clearTimeout(timer);
        wakeSleeper = undefined;
        stopSleeper = undefined;
        resolve();
      }
    });

  const round = (): Promise<RoundOutcome<R>> =>
    db.transaction(async (tx) => {
      const [{ locked }] = await tx.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1, $2) as locked', [lock.namespace, lock.id]);
      const from = await store.loadCheckpoint(name, tx);
      if (!locked) {
        // Another replica is on it. Still answer "caught up?" from its committed checkpoint.
        const ahead = await store.readAll({ after: from, limit: 1, types }, tx);
        return { kind: 'locked', caughtUp: ahead.events.length === 0 };
      }
      const { events, position } = await store.readAll({ after: from, limit: batchSize, types }, tx);
      const result = events.length > 0 ? { value: await handle([...events], tx) } : undefined;
      if (!samePosition(from, position)) await store.saveCheckpoint(name, position, tx);
      return { kind: 'handled', full: events.length === batchSize, result };
    });

  const settleWaiters = (roundNumber: number) => {
    for (let i = caughtUpWaiters.length - 1; i >= 0; i--) {
      if (caughtUpWaiters[i].afterRound < roundNumber) caughtUpWaiters.splice(i, 1)[0].resolve();
    }
  };

  const loop = async () => {
    // Let LISTEN get going first, so a hint sent during the first round is not lost.
    await store.whenListening();
    let failures = 0;
    while (!stopping) {
      woken = false;
      const roundNumber = ++roundsStarted;
      try {
        const outcome = await round();
        failures = 0;
        if (outcome.kind === 'handled' && outcome.result && afterCommit) {
          try {
            afterCommit(outcome.result.value);
          } catch (hookError) {
            logLine('error', 'log processor afterCommit threw', { processor: name, error: hookError });
          }
        }
        const caughtUp = outcome.kind === 'handled' ? !outcome.full : outcome.caughtUp;
        if (caughtUp) settleWaiters(roundNumber);
        if (outcome.kind === 'handled' && outcome.full) continue;
        await pause(pollIntervalMs, true);
      } catch (error) {
        failures++;
        logLine('error', 'log processor round failed; retrying', { processor: name, failures, error });
        try {
          onError?.(error);
        } catch (hookError) {
          logLine('error', 'log processor onError threw', { processor: name, error: hookError });
        }
        await pause(Math.min(MIN_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS), false);
      }
    }
  };

  const running = loop();

  return {
    async stop() {
      stopping = true;
      unsubscribe();
      stopSleeper?.();
      await running;
      for (const waiter of caughtUpWaiters.splice(0)) waiter.reject(new Error(`Log processor "${name}" stopped`));
    },
    waitUntilCaughtUp() {
      if (stopping) return Promise.reject(new Error(`Log processor "${name}" is stopped`));
      return new Promise<void>((resolve, reject) => {
        caughtUpWaiters.push({ afterRound: roundsStarted, resolve, reject });
        wake();
      });
    },
  };
}
