import { advisoryLockKey, AdvisoryLockNamespace, Database, Sql } from '@assay/database';
import { hintConcerns } from './appended-hint';
import { logLine } from './log';
import type { PostgresEventStore } from './postgres-event-store';
import { comparePositions } from './read-all';
import { samePosition } from './stored-event-row';
import type { LogPosition, StoredEvent } from './types';

export interface LogProcessorOptions<R = void> {
  /** Checkpoint name and lock name: replicas with the same name share one position. */
  readonly name: string;
  /** Only these event types reach `handle` (the checkpoint still moves past the others). */
  readonly types?: readonly string[];
  /** Payload keys `handle` does not need, per event type (see ReadAllOptions.omitFromData). */
  readonly omitFromData?: Readonly<Record<string, readonly string[]>>;
  /** Most events per `handle` call (and per transaction). */
  readonly batchSize: number;
  /** Most data bytes per batch (see ReadAllOptions.maxBytes); a batch holds at least one event. Default: no byte limit. */
  readonly batchBytes?: number;
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
   * Not called again if the process dies before it runs: for hints, not for anything durable.
   */
  afterCommit?(result: R): void;
  /** Told about every failed round (also logged); the processor keeps retrying regardless. */
  onError?(error: unknown): void;
}

export interface LogProcessor {
  /** Finishes the batch in progress (committing it), then stops. */
  stop(): Promise<void>;
  /**
   * Resolves once every event committed before this call has been handled (by whichever replica
   * holds the name): a round found nothing left to read, and its horizon had passed every
   * transaction that had started before the call. So it also waits for transactions still open
   * at the call (anywhere in the cluster) to end.
   */
  waitUntilCaughtUp(): Promise<void>;
}

const MIN_BACKOFF_MS = 100;
/** Longest a filtered processor keeps a move past events it does not handle unsaved. */
const CHECKPOINT_EVERY_MS = 1_000;
const MAX_BACKOFF_MS = 5_000;
/** Re-read delay while committed events wait behind an older open transaction (readAll's heldBack). */
const HELD_BACK_POLL_MS = 25;

interface RoundOutcome<R> {
  /** A full batch was handled: there is probably more. */
  readonly full: boolean;
  /** Nothing left to read below the horizon after this round (whichever replica did the work). */
  readonly caughtUp: boolean;
  /** The horizon of the round's read (see ReadAllResult). */
  readonly horizon: bigint;
  readonly heldBack: boolean;
  /** What `handle` returned, when this replica handled a batch. */
  readonly result?: { value: R };
}

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
 * Full batch → next round at once. Events held back by an older open transaction → look again
 * shortly. Otherwise wait for a wake-up (onAppended) or pollIntervalMs. A failed round is
 * logged, reported to onError, and retried after a growing backoff: the processor never stops
 * on its own.
 */
export function startLogProcessor<R = void>(store: PostgresEventStore, db: Database, options: LogProcessorOptions<R>): LogProcessor {
  const { name, types, omitFromData, batchSize, batchBytes, pollIntervalMs, handle, afterCommit, onError } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
  const lock = advisoryLockKey(AdvisoryLockNamespace.logProcessor, name);

  let stopping = false;
  let woken = false;
  let wakeSleeper: (() => void) | undefined;
  let stopSleeper: (() => void) | undefined;
  const caughtUpWaiters: { target: bigint; resolve: () => void; reject: (error: Error) => void }[] = [];

  const wake = () => {
    woken = true;
    wakeSleeper?.();
  };
  // A hint naming only types this processor skips is no reason to run a round.
  const unsubscribe = store.onAppended((appended) => hintConcerns(appended, types) && wake());

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

  let skippedTo: LogPosition | undefined;
  let lastSavedAt = 0;

  const round = (): Promise<RoundOutcome<R>> =>
    db.transaction(async (tx) => {
      const [{ locked }] = await tx.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1, $2) as locked', [lock.namespace, lock.id]);
      // A statement of its own, after the lock: its snapshot then includes the commit of the
      // replica that held the lock before. Read in the lock's statement, it could predate that
      // commit and hand this replica the batch the other one just handled.
      const saved = await store.loadCheckpoint(name, tx);
      // Past the saved checkpoint, this process may already know the log holds nothing for it.
      const from = skippedTo && comparePositions(skippedTo, saved) > 0 ? skippedTo : saved;
      if (!locked) {
        // Another replica is on it. Still answer "caught up?" from its committed checkpoint.
        const ahead = await store.readAll({ after: from, limit: 1, types }, tx);
        // `full` without events: the read's window ended before any event of these types; more may follow.
        return { full: false, caughtUp: ahead.events.length === 0 && !ahead.full, horizon: BigInt(ahead.horizon), heldBack: ahead.heldBack };
      }
      const { events, position, horizon, heldBack, full } = await store.readAll({ after: from, limit: batchSize, maxBytes: batchBytes, types, omitFromData }, tx);
      const result = events.length > 0 ? { value: await handle([...events], tx) } : undefined;
      // A filtered processor moves past other types' events without handling any. Saving that
      // move every round would cost a commit (a WAL flush) per append on a busy log for every
      // such processor, so it is remembered here and saved at most once per CHECKPOINT_EVERY_MS;
      // a restart merely scans that stretch again. Handled events always save with their effects.
      if (events.length > 0 || Date.now() - lastSavedAt >= CHECKPOINT_EVERY_MS) {
        if (!samePosition(saved, position)) await store.saveCheckpoint(name, position, tx);
        lastSavedAt = Date.now();
        skippedTo = undefined;
      } else {
        skippedTo = position;
      }
      return { full, caughtUp: !full, horizon: BigInt(horizon), heldBack, result };
    });

  const settleWaiters = (horizon: bigint) => {
    for (let i = caughtUpWaiters.length - 1; i >= 0; i--) {
      if (horizon >= caughtUpWaiters[i].target) caughtUpWaiters.splice(i, 1)[0].resolve();
    }
  };

  const loop = async () => {
    // Let LISTEN get going first, so a hint sent during the first round is not lost.
    await store.whenListening();
    let failures = 0;
    while (!stopping) {
      woken = false;
      try {
        const outcome = await round();
        failures = 0;
        if (outcome.result && afterCommit) {
          try {
            afterCommit(outcome.result.value);
          } catch (hookError) {
            logLine('error', 'log processor afterCommit threw', { processor: name, error: hookError });
          }
        }
        if (outcome.caughtUp) settleWaiters(outcome.horizon);
        if (outcome.full) continue;
        // Events held back by an older open transaction become readable when it ends, and that
        // may notify nobody (it need not have appended anything): look again soon.
        await pause(outcome.heldBack ? Math.min(HELD_BACK_POLL_MS, pollIntervalMs) : pollIntervalMs, true);
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
    async waitUntilCaughtUp() {
      if (stopping) throw new Error(`Log processor "${name}" is stopped`);
      // Every transaction that committed before now has an id below this snapshot's xmax; a
      // round whose horizon is at or past it had every one of them readable.
      const [{ xmax }] = await db.query<{ xmax: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as xmax');
      return new Promise<void>((resolve, reject) => {
        if (stopping) return reject(new Error(`Log processor "${name}" is stopped`));
        caughtUpWaiters.push({ target: BigInt(xmax), resolve, reject });
        wake();
      });
    },
  };
}
