import { AssayError } from '@assay/contracts';
import type { PostgresEventStore, StoredEvent } from '@assay/event-store';
import { validateConsumerOptions } from '../consumer/validate-options';
import type { BatchHandler, BroadcastHandler, ConsumerHandle, ConsumerOptions, EventBus } from '../types';
import { defaultBusLogger, type BusLogger } from '../util/logger';
import { LocalBroadcaster } from './local-broadcaster';
import { LogConsumer, type LogConsumerSettings } from './log-consumer';

export interface InProcessBusOptions {
  readonly store: PostgresEventStore;
  /** Longest wait between log reads without an onAppended hint. Default 1000. */
  readonly pollIntervalMs?: number;
  /** Least time between checkpoint writes per consumer. Default 100. */
  readonly checkpointEveryMs?: number;
  /** Most events per log read. Default 500. */
  readonly readBatchSize?: number;
  readonly logger?: BusLogger;
}

/**
 * The bus in embedded mode (one process, no NATS): the PostgreSQL log is the bus. Each consumer
 * follows the log from its own checkpoint; stored events reach it that way, so publishing is only
 * for events published again (the reconcilers': a record whose last delivery could not record its
 * failure), which every consumer of their types gets as new deliveries. One process per database: two processes consuming under the same name would both
 * get every event.
 */
export class InProcessBus implements EventBus {
  private readonly consumers = new Map<string, LogConsumer>();
  private readonly broadcaster: LocalBroadcaster;
  private readonly logger: BusLogger;
  private readonly settings: LogConsumerSettings;
  private closed = false;

  constructor(private readonly options: InProcessBusOptions) {
    this.logger = options.logger ?? defaultBusLogger();
    this.broadcaster = new LocalBroadcaster(this.logger);
    this.settings = {
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      checkpointEveryMs: options.checkpointEveryMs ?? 100,
      readBatchSize: options.readBatchSize ?? 500,
    };
  }

  /** Delivers stored events again to the consumers of their types (the log brings them the first time). */
  async publish(events: readonly StoredEvent[]): Promise<void> {
    for (const consumer of this.consumers.values()) consumer.republish(events);
  }

  async consume(options: ConsumerOptions, handler: BatchHandler): Promise<ConsumerHandle> {
    validateConsumerOptions(options);
    if (this.closed) throw new AssayError('UNAVAILABLE', 'The bus is closed.');
    if (this.consumers.has(options.name)) {
      throw new AssayError('INTERNAL', `Consumer "${options.name}" already runs in this process: one checkpoint cannot follow two readers.`);
    }
    const consumer = new LogConsumer(this.options.store, options, handler, this.settings, this.logger);
    this.consumers.set(options.name, consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.consumers.delete(options.name);
      throw error;
    }
    let stopped: Promise<void> | undefined;
    return {
      stop: () => {
        stopped ??= consumer.stop().finally(() => this.consumers.delete(options.name));
        return stopped;
      },
    };
  }

  broadcast(topic: string, payload: unknown): void {
    this.broadcaster.broadcast(topic, payload);
  }

  onBroadcast(topic: string, handler: BroadcastHandler): () => void {
    return this.broadcaster.onBroadcast(topic, handler);
  }

  /** Stops every consumer (saving checkpoints). The store is the caller's to close. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
    this.consumers.clear();
    this.broadcaster.clear();
  }
}
