import { AssayError } from '@assay/contracts';
import type { StoredEvent } from '@assay/event-store';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { validateConsumerOptions } from '../consumer/validate-options';
import type { BatchHandler, BroadcastHandler, ConsumerHandle, EventBus } from '../types';
import { defaultBusLogger, errorFields, type BusLogger } from '../util/logger';
import { NatsBroadcaster } from './broadcaster';
import { startJetStreamConsumer, type PullSettings } from './consumer';
import type { JetStreamConsumerOptions } from './consumer-setup';
import { JetStreamPublisher, type PublishResult } from './publisher';
import { serverFeatures, type ServerFeatures } from './server-features';
import { ensureStream, type StreamSettings } from './stream-setup';
import { Subjects } from './subjects';

export interface JetStreamBusOptions {
  /** One URL or several (a cluster). */
  readonly url: string | readonly string[];
  /** Default 'ASSAY_EVENTS'. */
  readonly streamName?: string;
  /** Subjects are `${subjectPrefix}.events.<type>` and `${subjectPrefix}.broadcast.<topic>`. Default 'assay'. */
  readonly subjectPrefix?: string;
  /** Shown in the server's connection list, e.g. 'scoring-worker'. */
  readonly connectionName?: string;
  /** Stream limits; see stream-setup.ts for the defaults and why. */
  readonly stream?: Omit<StreamSettings, 'name' | 'subjects'>;
  /** Publishes awaiting their PubAck at once. Default 1024. */
  readonly publishWindow?: number;
  /** Default 5000. */
  readonly pubAckTimeoutMs?: number;
  /** How long one pull request waits on the server. Default 5000 (the client's minimum is 1000). */
  readonly pullExpiresMs?: number;
  /** How long a partial batch waits to fill before the handler gets it. Default 2 ms. */
  readonly batchLingerMs?: number;
  /** How often a consumer reads its max_deliver again from the server (see PullSettings). Default 30 s. */
  readonly maxDeliverRefreshMs?: number;
  readonly logger?: BusLogger;
}

/**
 * The bus in service mode: stored events on a JetStream stream, durable pull consumers, broadcasts
 * over core NATS. Reconnection is the NATS client's (it retries forever); consumers log transient
 * errors and keep pulling.
 */
export class JetStreamBus implements EventBus {
  private readonly consumers = new Set<ConsumerHandle>();
  private readonly publisher: JetStreamPublisher;
  private readonly broadcaster: NatsBroadcaster;
  private readonly pullSettings: PullSettings;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly streamSettings: StreamSettings,
    readonly subjects: Subjects,
    readonly features: ServerFeatures,
    private readonly logger: BusLogger,
    options: JetStreamBusOptions,
  ) {
    this.publisher = new JetStreamPublisher(nc, subjects, streamSettings.name, options.publishWindow ?? 1024, options.pubAckTimeoutMs ?? 5000);
    this.broadcaster = new NatsBroadcaster(nc, subjects, logger);
    this.pullSettings = {
      pullExpiresMs: Math.max(1000, options.pullExpiresMs ?? 5000),
      batchLingerMs: options.batchLingerMs ?? 2,
      maxDeliverRefreshMs: options.maxDeliverRefreshMs ?? 30_000,
    };
  }

  /** Connects, then creates or updates the stream. */
  static async connect(options: JetStreamBusOptions): Promise<JetStreamBus> {
    const logger = options.logger ?? defaultBusLogger();
    const servers = typeof options.url === 'string' ? [options.url] : [...options.url];
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: options.connectionName,
        // Reconnecting is the client's job: forever, every 2 s per server, buffering publishes meanwhile.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 2000,
      });
    } catch (error) {
      throw new AssayError('UNAVAILABLE', `Cannot connect to NATS at ${servers.join(', ')}: ${error instanceof Error ? error.message : String(error)}`, {
        servers,
      });
    }
    try {
      const subjects = new Subjects(options.subjectPrefix ?? 'assay');
      const streamSettings: StreamSettings = { ...options.stream, name: options.streamName ?? 'ASSAY_EVENTS', subjects: [subjects.allEvents] };
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm, streamSettings, logger);
      const bus = new JetStreamBus(nc, jetstream(nc), jsm, streamSettings, subjects, serverFeatures(nc), logger, options);
      bus.watchStatus();
      return bus;
    } catch (error) {
      await nc.close();
      if (error instanceof AssayError) throw error;
      throw new AssayError('UNAVAILABLE', `JetStream is not usable at ${servers.join(', ')}: ${error instanceof Error ? error.message : String(error)}. Is nats-server running with -js?`, {
        servers,
      });
    }
  }

  async publish(events: readonly StoredEvent[]): Promise<void> {
    await this.publishCounted(events);
  }

  /** `publish`, telling how many were duplicates (for the relay's progress lines). */
  publishCounted(events: readonly StoredEvent[]): Promise<PublishResult> {
    if (events.length === 0) return Promise.resolve({ published: 0, duplicates: 0 });
    return this.publisher.publish(events);
  }

  async consume(options: JetStreamConsumerOptions, handler: BatchHandler): Promise<ConsumerHandle> {
    validateConsumerOptions(options);
    if (this.closing) throw new AssayError('UNAVAILABLE', 'The bus is closed.');
    const context = {
      js: this.js,
      jsm: this.jsm,
      stream: this.streamSettings.name,
      subjects: this.subjects,
      features: this.features,
      logger: this.logger,
      ensureStream: () => ensureStream(this.jsm, this.streamSettings, this.logger),
      isClosed: () => this.nc.isClosed(),
    };
    const inner = await startJetStreamConsumer(context, options, this.pullSettings, handler);
    let stopped: Promise<void> | undefined;
    const handle: ConsumerHandle = {
      stop: () => {
        stopped ??= inner.stop().finally(() => this.consumers.delete(handle));
        return stopped;
      },
    };
    this.consumers.add(handle);
    return handle;
  }

  broadcast(topic: string, payload: unknown): void {
    this.broadcaster.broadcast(topic, payload);
  }

  onBroadcast(topic: string, handler: BroadcastHandler): () => void {
    return this.broadcaster.onBroadcast(topic, handler);
  }

  /** Resolves once the server has processed everything sent so far (e.g. new broadcast subscriptions). */
  flush(): Promise<void> {
    return this.nc.flush();
  }

  /** The stream's manager, for operations and tests (consumer info, deleting the stream). */
  get manager(): JetStreamManager {
    return this.jsm;
  }

  /** Stops every consumer (waiting for their batches), then drains the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((c) => c.stop()));
      this.publisher.close();
      if (!this.nc.isClosed()) await this.nc.drain();
    })();
    return this.closing;
  }

  private watchStatus(): void {
    void (async () => {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
          const { type, ...rest } = status as { type: string } & Record<string, unknown>;
          const log = type === 'reconnect' ? this.logger.info : this.logger.warn;
          log.call(this.logger, { natsStatus: type, ...pickLoggable(rest) }, `NATS ${type}`);
        }
      }
    })().catch((error) => this.logger.error(errorFields(error), 'NATS status watcher failed'));
  }
}

function pickLoggable(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) Object.assign(out, errorFields(value));
    else if (typeof value !== 'object' || value === null) out[key] = value;
  }
  return out;
}
