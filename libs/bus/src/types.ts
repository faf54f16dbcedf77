import type { StoredEvent } from '@assay/event-store';

/**
 * The message bus as the services see it. Two implementations share this contract:
 * - JetStream (service mode): the relay publishes stored events; consumers are durable pull consumers.
 * - In-process (embedded mode): consumers read the PostgreSQL global log directly with a checkpoint,
 *   so a crash of the single process loses nothing either.
 * Delivery is at least once in both: handlers must be idempotent.
 */

/** One delivery of one event to one consumer. Exactly one of ack, nak or term must be called. */
export interface Delivery {
  readonly event: StoredEvent;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  /**
   * The most deliveries the bus makes of this event, as the consumer is set now (on JetStream: the
   * server's value, which the last process to start set): once `deliveryCount` reaches it, a nak is
   * not redelivered, so the handler records the failure instead. Read it here rather than from a
   * setting of one's own: processes started with another value (a rolling change) agree on it.
   */
  readonly maxDeliver: number;
  /** Done: never deliver again. */
  ack(): void;
  /** Transient failure: deliver again after `delayMs` (default: the consumer's backoff for this attempt). */
  nak(delayMs?: number): void;
  /** Permanent failure, already recorded by the handler (e.g. as ScoringFailed): never deliver again. */
  term(reason: string): void;
  /** Still working on it: extend the ack deadline. */
  working(): void;
}

export interface ConsumerOptions {
  /** Durable name: consumers with the same name share the work (and survive restarts). */
  readonly name: string;
  /** Event types to receive. */
  readonly eventTypes: readonly string[];
  /** Most deliveries handed out and not yet acked, across this process's batches. */
  readonly maxInFlight: number;
  /** Most deliveries per handler call. */
  readonly maxBatch: number;
  /** Redeliver when neither ack, nak, term nor working came within this time. */
  readonly ackWaitMs: number;
  /** Deliveries after which the bus stops redelivering. Handlers see `deliveryCount` and `maxDeliver` on each delivery and record the failure on the last one. */
  readonly maxDeliver: number;
  /** Delay before redelivery after attempt n (last entry repeats). */
  readonly backoffMs: readonly number[];
}

export type BatchHandler = (batch: readonly Delivery[]) => Promise<void>;

/** `topic` is the full topic the payload was broadcast on. */
export type BroadcastHandler = (payload: unknown, topic: string) => void;

export interface ConsumerHandle {
  /** Stops fetching, waits for in-flight batches to finish. */
  stop(): Promise<void>;
}

export interface EventBus {
  /** Resolves once the bus has durably accepted every event (JetStream PubAck). Duplicates by eventId are dropped. */
  publish(events: readonly StoredEvent[]): Promise<void>;
  consume(options: ConsumerOptions, handler: BatchHandler): Promise<ConsumerHandle>;
  /**
   * Fire-and-forget fan-out to every process (live status). Not durable: receivers re-read state.
   * `topic` is dot-separated tokens without wildcards, e.g. 'run-updated.<runId>'. The payload must be
   * JSON-serialisable; receivers get the JSON round trip (Dates arrive as ISO strings).
   */
  broadcast(topic: string, payload: unknown): void;
  /**
   * Receives broadcasts whose topic is `topic` or below it ('run-updated' receives
   * 'run-updated.<runId>'); '*' matches one token, a trailing '>' one or more. Returns unsubscribe.
   */
  onBroadcast(topic: string, handler: BroadcastHandler): () => void;
  close(): Promise<void>;
}
