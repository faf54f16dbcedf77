import type { EventBus } from '@assay/bus';
import type { EventData } from '@assay/contracts';
import { startPeriodicSweep, type Database, type Sql } from '@assay/database';
import { executionRecordId, executionsStreamId, executionStreamId } from '@assay/domain';
import type { PostgresEventStore, StoredEvent } from '@assay/event-store';

/**
 * JetStream is transport, PostgreSQL the record (design note 8): a batch of executions whose
 * message JetStream lost, or whose last delivery could not even record its failures, would leave a
 * kicked-off run EXECUTING for ever. This sweep finds runs the server executes that still miss
 * executions and have not moved for `olderThanMs`, and publishes again the ExecutionsScheduled
 * batches that hold the missing ones. Executions are idempotent (a done one is skipped), so a run
 * that was merely slow (a provider outage being waited out) costs a few skipped executions.
 */
export interface PendingExecutionsOptions {
  readonly sql: Sql;
  readonly store: PostgresEventStore;
  readonly bus: Pick<EventBus, 'publish'>;
  /** Longer than JetStream's duplicate window (2 min), or a republish would be dropped as a duplicate. */
  readonly olderThanMs: number;
  /** Most runs looked at per sweep. */
  readonly limit?: number;
}

/** Returns how many batches were published again. */
export async function republishPendingExecutions(options: PendingExecutionsOptions): Promise<number> {
  const runs = await options.sql.query<{ id: string }>(
    `select id from rm_runs
     where source in ('KICKOFF', 'PLAYGROUND')
       and num_records + num_execution_failures < coalesce(num_expected_records, 0)
       and last_event_at < now() - make_interval(secs => $1::double precision / 1000)
     order by last_event_at
     limit $2`,
    [options.olderThanMs, options.limit ?? 100],
  );
  let republished = 0;
  for (const { id } of runs) {
    const batches = (await options.store.readStream(executionsStreamId(id))).filter((event) => event.type === 'ExecutionsScheduled');
    const pending: StoredEvent[] = [];
    for (const batch of batches) {
      const { runId, trials, testcases } = batch.data as EventData<'ExecutionsScheduled'>;
      const streams = testcases.flatMap((testcase) => Array.from({ length: trials }, (_, trial) => executionStreamId(executionRecordId(runId, testcase.key, trial))));
      const stored = await options.store.readStreams(streams);
      if (streams.some((stream) => (stored.get(stream) ?? []).length === 0)) pending.push(batch);
    }
    if (pending.length > 0) {
      await options.bus.publish(pending);
      republished += pending.length;
    }
  }
  return republished;
}

/** Sweeps every `intervalMs`; one replica at a time (advisory lock). */
export function startExecutionReconciler(options: {
  readonly db: Database;
  readonly store: PostgresEventStore;
  readonly bus: Pick<EventBus, 'publish'>;
  readonly olderThanMs?: number;
  readonly intervalMs?: number;
  readonly log: (msg: string, extra?: object) => void;
}): { stop(): Promise<void> } {
  const olderThanMs = options.olderThanMs ?? 5 * 60_000;
  return startPeriodicSweep({
    db: options.db,
    name: 'reconcile-pending-executions',
    intervalMs: options.intervalMs ?? 60_000,
    sweep: (tx) => republishPendingExecutions({ sql: tx, store: options.store, bus: options.bus, olderThanMs }),
    report: (outcome) =>
      'error' in outcome
        ? options.log('sweep for pending executions failed; next sweep retries', { error: String(outcome.error) })
        : options.log('republished execution batches still missing executions', { republished: outcome.done, olderThanMs }),
  });
}
