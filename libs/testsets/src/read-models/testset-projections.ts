import type { Database } from '@assay/database';
import { comparePositions, LogPosition, LogProcessor, PostgresEventStore, startLogProcessor } from '@assay/event-store';
import { projectTestsets, TESTSET_EVENT_TYPES } from './testset-projector';

/** Checkpoint name of the testsets projector; deleting it (and the rm_test* rows) rebuilds them. */
export const TESTSETS_PROCESSOR = 'testsets-read-models';

/** Keeps rm_testsets and rm_testcases in step with the global log (started by the runs service). */
export function startTestsetProjections(options: { store: PostgresEventStore; db: Database; batchSize?: number; pollIntervalMs?: number }): LogProcessor {
  return startLogProcessor(options.store, options.db, {
    name: TESTSETS_PROCESSOR,
    types: TESTSET_EVENT_TYPES,
    // An event carries up to 1,000 testcases and ~512 KiB: 16 events is one INSERT of at most
    // ~8 MB, committed in well under a second.
    batchSize: options.batchSize ?? 16,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    handle: (events, tx) => projectTestsets(events, tx),
  });
}

/**
 * Read-your-writes for commands that append to many streams: resolves once the processor's
 * checkpoint has passed `position` (the last event the command appended), i.e. its events are in
 * the read models. Throws UNAVAILABLE-worthy errors to the caller via `onTimeout`.
 */
export async function waitForProjection(
  store: PostgresEventStore,
  name: string,
  position: LogPosition,
  timeoutMs: number,
  onTimeout: () => Error,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    const checkpoint = await store.loadCheckpoint(name);
    if (comparePositions(checkpoint, position) >= 0) return;
    if (Date.now() > deadline) throw onTimeout();
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
