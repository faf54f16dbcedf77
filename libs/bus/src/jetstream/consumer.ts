import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { runHandler } from '../consumer/run-handler';
import { TrackedDelivery, type SettleTransport } from '../consumer/tracked-delivery';
import type { BatchHandler, ConsumerHandle } from '../types';
import { errorFields, type BusLogger } from '../util/logger';
import { Signal } from '../util/signal';
import { decodeEvent } from './codec';
import { consumerPlan, ensureConsumer, type ConsumerPlan, type JetStreamConsumerOptions } from './consumer-setup';
import type { ServerFeatures } from './server-features';
import type { Subjects } from './subjects';

export interface PullSettings {
  /** How long one pull request waits on the server for messages (>= 1000, a client rule). */
  readonly pullExpiresMs: number;
  /** How long a partial batch waits for more messages before it goes to the handler. */
  readonly batchLingerMs: number;
  /**
   * How often the consumer's max_deliver is read again from the server: another process started
   * with another value (a rolling change) sets it, and deliveries must say what the server will do,
   * or a handler naks what it takes for an early delivery and the server never sends it again.
   */
  readonly maxDeliverRefreshMs: number;
}

export interface ConsumerContext {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly subjects: Subjects;
  readonly features: ServerFeatures;
  readonly logger: BusLogger;
  /** Re-creates the stream, for when it vanished under a running consumer. */
  readonly ensureStream: () => Promise<unknown>;
  readonly isClosed: () => boolean;
}

/** Pull requests one process keeps open at once: one filling while another waits out a slow trickle. */
const MAX_OPEN_PULLS = 2;
const MAX_ERROR_PAUSE_MS = 5_000;

/**
 * A durable pull consumer with bounded in-flight work. The bound is kept by credit: a pull asks for
 * at most `maxInFlight - held - requested` messages, where `held` counts deliveries received and not
 * yet settled and `requested` those asked for and not yet received. So this process never holds more
 * than maxInFlight un-acked deliveries, whatever the server has.
 */
export async function startJetStreamConsumer(
  context: ConsumerContext,
  options: JetStreamConsumerOptions,
  settings: PullSettings,
  handler: BatchHandler,
): Promise<ConsumerHandle> {
  const plan = consumerPlan(options, context.subjects, context.features);
  const info = await ensureConsumer(context.jsm, context.stream, plan);
  const consumer = await context.js.consumers.get(context.stream, options.name);
  if (plan.clientSideFilter) {
    context.logger.info(
      { consumer: options.name, serverVersion: context.features.version, eventTypes: [...plan.clientSideFilter] },
      'server has no multi-subject filters: this consumer receives every event type and acks the others itself',
    );
  }
  const loop = new PullLoop(context, options, settings, plan, consumer, handler, info.config.max_deliver ?? options.maxDeliver);
  loop.start();
  return { stop: () => loop.stop() };
}

class PullLoop {
  private held = 0;
  private requested = 0;
  private readonly openPulls = new Set<ConsumerMessages>();
  private readonly pullTasks = new Set<Promise<void>>();
  private readonly batches = new Set<Promise<void>>();
  private readonly changed = new Signal();
  private queue: JsMsg[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Failed pulls since the last one that worked: sets the pause before the next. */
  private errorStreak = 0;
  private pauseBeforeNextPull = false;
  private needsEnsure = false;
  private maxDeliverReadAt = Date.now();

  constructor(
    private readonly context: ConsumerContext,
    private readonly options: JetStreamConsumerOptions,
    private readonly settings: PullSettings,
    private readonly plan: ConsumerPlan,
    private readonly consumer: Consumer,
    private readonly handler: BatchHandler,
    /** The server's max_deliver for this consumer, as last read. */
    private maxDeliver: number,
  ) {}

  start(): void {
    this.loopDone = this.run();
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      // Closing a pull unsubscribes its inbox; what the server already assigned to it comes back to
      // another consumer after ack_wait.
      for (const pull of this.openPulls) pull.stop();
      this.changed.notify();
    }
    await this.loopDone;
    await Promise.all([...this.pullTasks]);
    this.flush();
    while (this.batches.size > 0) await Promise.all([...this.batches]);
  }

  private async run(): Promise<void> {
    while (!this.stopping && !this.context.isClosed()) {
      const free = this.options.maxInFlight - this.held - this.requested;
      if (free <= 0 || this.openPulls.size >= MAX_OPEN_PULLS) {
        await this.changed.wait();
        continue;
      }
      if (this.pauseBeforeNextPull && !(await this.recover())) continue;
      if (Date.now() - this.maxDeliverReadAt >= this.settings.maxDeliverRefreshMs) this.refreshMaxDeliver();
      this.requested += free;
      let pull: ConsumerMessages;
      try {
        pull = await this.consumer.fetch({ max_messages: free, expires: this.settings.pullExpiresMs });
      } catch (error) {
        this.requested -= free;
        this.onPullError(error);
        continue;
      }
      if (this.stopping) pull.stop();
      this.openPulls.add(pull);
      const task = this.drain(pull, free).finally(() => {
        this.pullTasks.delete(task);
        this.changed.notify();
      });
      this.pullTasks.add(task);
    }
  }

  /** Moves one pull's messages into the batch queue, returning its unused credit at the end. */
  private async drain(pull: ConsumerMessages, asked: number): Promise<void> {
    let received = 0;
    try {
      for await (const msg of pull) {
        received++;
        if (received <= asked) this.requested--;
        this.held++;
        this.errorStreak = 0;
        this.enqueue(msg);
      }
      this.errorStreak = 0;
    } catch (error) {
      if (!this.stopping) this.onPullError(error);
    } finally {
      this.requested -= Math.max(0, asked - received);
      this.openPulls.delete(pull);
    }
  }

  /** Reads the consumer's max_deliver again, in the background; a failed read keeps the last value. */
  private refreshMaxDeliver(): void {
    this.maxDeliverReadAt = Date.now();
    this.consumer.info(false).then(
      (info) => {
        const now = info.config.max_deliver;
        if (now !== undefined && now !== this.maxDeliver) {
          this.context.logger.warn(
            { consumer: this.options.name, was: this.maxDeliver, now, configured: this.options.maxDeliver },
            "the consumer's max_deliver changed on the server (another process set it): deliveries follow the server",
          );
          this.maxDeliver = now;
        }
      },
      () => undefined,
    );
  }

  /** Transient (disconnects, missed heartbeats, a deleted consumer): log, pause, keep consuming. */
  private onPullError(error: unknown): void {
    if (this.stopping || this.context.isClosed()) return;
    this.errorStreak++;
    this.pauseBeforeNextPull = true;
    // A vanished consumer or stream shows up as a failing pull: re-create both before pulling again.
    this.needsEnsure = true;
    this.context.logger.warn(
      { consumer: this.options.name, errorStreak: this.errorStreak, ...errorFields(error) },
      'pull failed: pausing, then pulling again',
    );
    this.changed.notify();
  }

  /** Waits out the error pause (250 ms doubling to 5 s) and re-ensures the consumer. False: re-check first. */
  private async recover(): Promise<boolean> {
    const until = Date.now() + Math.min(MAX_ERROR_PAUSE_MS, 250 * 2 ** Math.min(this.errorStreak - 1, 5));
    while (!this.stopping && Date.now() < until) await this.changed.wait(until - Date.now());
    if (this.stopping) return false;
    if (this.needsEnsure) {
      try {
        await this.context.ensureStream();
        this.maxDeliver = (await ensureConsumer(this.context.jsm, this.context.stream, this.plan)).config.max_deliver ?? this.maxDeliver;
        this.maxDeliverReadAt = Date.now();
        this.needsEnsure = false;
      } catch (error) {
        this.onPullError(error);
        return false;
      }
    }
    this.pauseBeforeNextPull = false;
    return true;
  }

  private enqueue(msg: JsMsg): void {
    this.queue.push(msg);
    if (this.queue.length >= this.options.maxBatch) {
      this.flush();
    } else if (!this.lingerTimer) {
      this.lingerTimer = setTimeout(() => this.flush(), this.settings.batchLingerMs);
    }
  }

  private flush(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    while (this.queue.length > 0) this.dispatch(this.queue.splice(0, this.options.maxBatch));
  }

  private dispatch(messages: JsMsg[]): void {
    const deliveries: TrackedDelivery[] = [];
    for (const msg of messages) {
      const delivery = this.toDelivery(msg);
      if (delivery) deliveries.push(delivery);
    }
    if (deliveries.length === 0) return;
    const batch = runHandler(this.handler, deliveries, { consumer: this.options.name, logger: this.context.logger }).finally(() =>
      this.batches.delete(batch),
    );
    this.batches.add(batch);
  }

  /** The Delivery for a message, or undefined when the message was settled here (undecodable, filtered). */
  private toDelivery(msg: JsMsg): TrackedDelivery | undefined {
    let event;
    try {
      event = decodeEvent(msg.data);
    } catch (error) {
      // It will never decode: redelivering would only repeat this. Term it and say so.
      this.context.logger.error(
        { consumer: this.options.name, subject: msg.subject, streamSequence: msg.seq, ...errorFields(error) },
        'undecodable message: terminated',
      );
      msg.term();
      this.release();
      return undefined;
    }
    if (this.plan.clientSideFilter && !this.plan.clientSideFilter.has(event.type)) {
      msg.ack();
      this.release();
      return undefined;
    }
    return new TrackedDelivery(event, msg.info.deliveryCount, this.maxDeliver, this.transport(msg), this.options.backoffMs, () => this.release());
  }

  private transport(msg: JsMsg): SettleTransport {
    const termReason = this.context.features.termReason;
    return {
      ack: () => msg.ack(),
      nak: (delayMs) => (delayMs > 0 ? msg.nak(delayMs) : msg.nak()),
      term: (reason) => (termReason && reason ? msg.term(reason) : msg.term()),
      working: () => msg.working(),
    };
  }

  private release(): void {
    this.held--;
    this.changed.notify();
  }
}
