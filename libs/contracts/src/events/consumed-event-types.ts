import type { EventType } from './event-types';

/**
 * The event types that travel over JetStream, by the durable consumer that reads them. PostgreSQL
 * holds every event; JetStream carries only what a worker must be handed, so the relay publishes
 * exactly these (ASSAY_RELAY_EVENT_TYPES overrides) and a consumer takes its list from here: a
 * new consumer added without its types would never get a message.
 */
export const CONSUMED_EVENT_TYPES = {
  /** Scoring workers: a record to score with every metric of its run. */
  scoring: ['RecordAdded'],
  /** Scoring workers: a record to score again (rescoreRun). */
  rescoring: ['RecordRescoreRequested'],
  /** Execution workers: testcases of a kicked-off run to execute. */
  execution: ['ExecutionsScheduled'],
} as const satisfies Record<string, readonly EventType[]>;

/** What the relay publishes by default: every type some JetStream consumer reads. */
export const RELAYED_EVENT_TYPES: readonly EventType[] = [...new Set(Object.values(CONSUMED_EVENT_TYPES).flat())];
