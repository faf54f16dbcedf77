import type { Database } from '@assay/database';
import { startLogProcessor, type PostgresEventStore, type StoredEvent } from '@assay/event-store';
import type { EventBus } from '../types';
import { defaultBusLogger, errorFields, type BusLogger } from '../util/logger';
import { RelayProgress } from './relay-progress';

export interface RelayOptions {
  readonly store: PostgresEventStore;
  readonly db: Database;
  readonly bus: EventBus;
  /** Events per read, publish round and checkpoint transaction. Default 1000. */
  readonly batchSize?: number;
  /** Longest wait between rounds when no onAppended hint comes. Default 1000. */
  readonly pollIntervalMs?: number;
  /**
   * Event types to publish (default: all). JetStream is transport for the consumers that exist;
   * types no JetStream consumer reads need not cost a publish and a stored message each.
   */
  readonly types?: readonly string[];
  /** Checkpoint and advisory-lock name. Default 'relay'. */
  readonly name?: string;
  /** How often a progress line is logged while events flow. Default 10 s. */
  readonly progressEveryMs?: number;
  readonly logger?: BusLogger;
}

export interface Relay {
  /** Finishes the round in progress (its publishes and checkpoint), then stops. */
  stop(): Promise<void>;
  /** Resolves once the relay checkpoint reached the end of the log (whichever replica relays). */
  waitUntilCaughtUp(): Promise<void>;
}

/** A bus that can say how many of a publish were duplicates (JetStreamBus); others just publish. */
interface CountingBus {
  publishCounted(events: readonly StoredEvent[]): Promise<{ duplicates: number }>;
}
const counts = (bus: EventBus): bus is EventBus & CountingBus => typeof (bus as Partial<CountingBus>).publishCounted === 'function';

/**
 * The log is the outbox (design note 7): the relay reads the global log from its checkpoint in
 * commit-safe order, publishes each batch and awaits every PubAck, and only then lets the log
 * processor save the checkpoint — in the same transaction round, under the processor's per-name
 * advisory lock, so one replica relays at a time. A crash between PubAck and commit publishes the
 * batch again; JetStream drops the repeats by msgID (= eventId) within its duplicate window.
 */
export function startRelay(options: RelayOptions): Relay {
  const logger = options.logger ?? defaultBusLogger();
  const name = options.name ?? 'relay';
  const progress = new RelayProgress(name, options.progressEveryMs ?? 10_000, logger);
  const { bus } = options;
  const processor = startLogProcessor(options.store, options.db, {
    name,
    batchSize: options.batchSize ?? 1000,
    // Records can be large (up to ASSAY_MAX_RECORD_BYTES each): bound a round's memory by bytes too.
    batchBytes: 8 * 1024 * 1024,
    types: options.types,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    async handle(events) {
      // Throws if any PubAck is missing: the round rolls back and the processor retries it.
      const result = counts(bus) ? await bus.publishCounted(events) : (await bus.publish(events), { duplicates: 0 });
      progress.record(events, result.duplicates);
    },
    onError(error) {
      logger.warn({ relay: name, ...errorFields(error) }, 'relay round failed: it is retried, the checkpoint did not move');
    },
  });
  logger.info({ relay: name }, 'relay started');
  return {
    async stop() {
      await processor.stop();
      progress.flush();
      logger.info({ relay: name }, 'relay stopped');
    },
    waitUntilCaughtUp: () => processor.waitUntilCaughtUp(),
  };
}
