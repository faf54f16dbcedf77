import type { EventBus } from '@assay/bus';
import type { Database } from '@assay/database';
import { LogProcessor, PostgresEventStore, startLogProcessor } from '@assay/event-store';
import { RUN_UPDATED_TOPIC, RunView } from '../types';
import { projectRuns, RECORD_PAYLOAD_KEYS } from './run-projector';

/** Checkpoint name of the read-model projector; resetting it rebuilds the read models. */
export const READ_MODELS_PROCESSOR = 'read-models';

export interface RunProjectionsOptions {
  readonly store: PostgresEventStore;
  readonly db: Database;
  /** Receives a RunView for every run a committed batch changed (live status). */
  readonly bus: Pick<EventBus, 'broadcast'>;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
}

/**
 * Keeps the read models in step with the global log. Each batch is projected in the processor's
 * transaction with its checkpoint; the changed runs are broadcast once that transaction commits,
 * so a pushed status is never one the database could still roll back.
 */
export function startRunProjections(options: RunProjectionsOptions): LogProcessor {
  return startLogProcessor(options.store, options.db, {
    name: READ_MODELS_PROCESSOR,
    // Large batches: a round costs a dozen statements whatever its size, so under a burst the
    // projector catches up in a few big rounds instead of falling behind by many small ones
    // (bench/README.md: 2,000 → 20,000 halved the push latency). Bytes bound the memory.
    batchSize: options.batchSize ?? 20_000,
    batchBytes: 16 * 1024 * 1024,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    omitFromData: { RecordAdded: RECORD_PAYLOAD_KEYS },
    handle: (events, tx) => projectRuns(events, tx),
    afterCommit: (changed: RunView[]) => {
      for (const view of changed) options.bus.broadcast(`${RUN_UPDATED_TOPIC}.${view.id}`, view);
    },
  });
}
