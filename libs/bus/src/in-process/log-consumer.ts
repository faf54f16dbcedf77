import { comparePositions, hintConcerns, type LogPosition, type PostgresEventStore, type StoredEvent } from '@assay/event-store';
import { runHandler } from '../consumer/run-handler';
import { TrackedDelivery, type SettleTransport } from '../consumer/tracked-delivery';
import type { BatchHandler, ConsumerOptions } from '../types';
import { errorFields, type BusLogger } from '../util/logger';
import { Signal } from '../util/signal';
import { LogWindow, type Entry } from './log-window';

export interface LogConsumerSettings {
  /** Longest wait between reads when no onAppended hint comes (hints can be lost; polls cannot). */
  readonly pollIntervalMs: number;
  /** Least time between checkpoint writes (a crash redelivers at most this much settled work). */
  readonly checkpointEveryMs: number;
  /** Most events per readAll. */
  readonly readBatchSize: number;
}

const MAX_ERROR_PAUSE_MS = 5_000;

export const checkpointName = (consumer: string) => `consumer:${consumer}`;

/**
 * One consumer of the embedded bus: reads the PostgreSQL global log from its checkpoint
 * `consumer:<name>`, hands out deliveries with the JetStream semantics (in memory: nak delays,
 * ack wait, delivery counts, maxDeliver), and saves the checkpoint past settled events only.
 * Delivery counts and nak timers live in memory: after a restart, unsettled events start again
 * at deliveryCount 1.
 */
export class LogConsumer {
  private window!: LogWindow;
  private saved!: LogPosition;
  private lastSaveAt = 0;
  private inFlight = 0;
  private readonly batches = new Set<Promise<void>>();
  private readonly signal = new Signal();
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private unsubscribe: () => void = () => undefined;
  private hinted = true;
  private moreToRead = true;
  private nextPollAt = 0;
  private errorStreak = 0;
  /** Bounds memory: events read ahead and not yet settled. */
  private readonly readAhead: number;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly options: ConsumerOptions,
    private readonly handler: BatchHandler,
    private readonly settings: LogConsumerSettings,
    private readonly logger: BusLogger,
  ) {
    this.readAhead = Math.max(options.maxInFlight * 4, options.maxBatch * 2, 100);
  }

  async start(): Promise<void> {
    this.saved = await this.store.loadCheckpoint(checkpointName(this.options.name));
    this.window = new LogWindow(this.saved);
    this.unsubscribe = this.store.onAppended((appended) => {
      if (!hintConcerns(appended, this.options.eventTypes)) return;
      this.hinted = true;
      this.signal.notify();
    });
    // Hints sent before LISTEN is up would be lost; the first read happens after it.
    await this.store.whenListening();
    this.loopDone = this.loop();
  }

  /** Delivers these events again (those of this consumer's types not already waiting here). */
  republish(events: readonly StoredEvent[]): number {
    if (!this.window) return 0; // still starting: it reads from its checkpoint, which is before these
    const mine = events.filter((event) => this.options.eventTypes.includes(event.type));
    const added = mine.length ? this.window.republish(mine) : 0;
    if (added) this.signal.notify();
    return added;
  }

  /** Stops handing out work, waits for the handler calls in flight, then saves the checkpoint. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.unsubscribe();
      this.signal.notify();
    }
    await this.loopDone;
    while (this.batches.size > 0) await Promise.all([...this.batches]);
    try {
      await this.saveCheckpoint(Date.now(), true);
    } catch (error) {
      this.logger.warn({ consumer: this.options.name, ...errorFields(error) }, 'final checkpoint save failed: unsettled work will be redelivered');
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.readIfDue();
        const now = Date.now();
        this.expireOverdue(now);
        this.dispatchDue(now);
        await this.saveCheckpoint(now, false);
        this.errorStreak = 0;
      } catch (error) {
        this.errorStreak++;
        const pause = Math.min(MAX_ERROR_PAUSE_MS, 100 * 2 ** Math.min(this.errorStreak - 1, 6));
        this.logger.warn({ consumer: this.options.name, errorStreak: this.errorStreak, pauseMs: pause, ...errorFields(error) }, 'reading the log failed: retrying');
        // Settlements keep notifying: wait out the whole pause unless stopping.
        const until = Date.now() + pause;
        while (!this.stopping && Date.now() < until) await this.signal.wait(until - Date.now());
        continue;
      }
      if (!this.stopping) await this.signal.wait(this.sleepFor());
    }
  }

  private async readIfDue(): Promise<void> {
    const room = this.readAhead - this.window.unsettled;
    if (room <= 0) return;
    if (!this.moreToRead && !this.hinted && Date.now() < this.nextPollAt) return;
    this.hinted = false;
    this.nextPollAt = Date.now() + this.settings.pollIntervalMs;
    const limit = Math.min(room, this.settings.readBatchSize);
    const { events, position, full } = await this.store.readAll({ after: this.window.tail, limit, types: this.options.eventTypes });
    this.window.add(events, position);
    // Full also when the read stopped at the end of its window of the log with fewer events.
    this.moreToRead = full;
  }

  /** Like JetStream's ack wait: a delivery neither settled nor extended in time is handed out again. */
  private expireOverdue(now: number): void {
    for (const entry of this.window.overdue(now)) {
      if (entry.deliveryCount >= this.options.maxDeliver) this.dropAfterMaxDeliver(entry, 'ack wait ran out');
      else entry.state = 'ready';
    }
  }

  private dispatchDue(now: number): void {
    const free = this.options.maxInFlight - this.inFlight;
    if (free <= 0) return;
    const due = this.window.due(now, free);
    for (let i = 0; i < due.length; i += this.options.maxBatch) this.launch(due.slice(i, i + this.options.maxBatch), now);
  }

  private launch(entries: Entry[], now: number): void {
    const deliveries = entries.map((entry) => {
      entry.state = 'inflight';
      entry.deliveryCount++;
      entry.deliveryId++;
      entry.deadline = now + this.options.ackWaitMs;
      this.inFlight++;
      return new TrackedDelivery(entry.event!, entry.deliveryCount, this.options.maxDeliver, this.transport(entry, entry.deliveryId), this.options.backoffMs, () => {
        this.inFlight--;
        this.signal.notify();
      });
    });
    const batch = runHandler(this.handler, deliveries, { consumer: this.options.name, logger: this.logger }).finally(() => this.batches.delete(batch));
    this.batches.add(batch);
  }

  private transport(entry: Entry, deliveryId: number): SettleTransport {
    const live = () => entry.deliveryId === deliveryId && entry.state === 'inflight';
    const finish = () => {
      // An ack from an older delivery still counts, as it does on JetStream.
      if (entry.state === 'done') return;
      entry.state = 'done';
      entry.event = undefined;
    };
    return {
      ack: finish,
      term: finish,
      nak: (delayMs) => {
        if (!live()) return;
        if (entry.deliveryCount >= this.options.maxDeliver) return this.dropAfterMaxDeliver(entry, 'nak on the last delivery');
        entry.state = 'waiting';
        entry.readyAt = Date.now() + delayMs;
      },
      working: () => {
        if (live()) entry.deadline = Date.now() + this.options.ackWaitMs;
      },
    };
  }

  private dropAfterMaxDeliver(entry: Entry, why: string): void {
    this.logger.warn(
      { consumer: this.options.name, eventId: entry.event?.eventId, type: entry.event?.type, deliveries: entry.deliveryCount, why },
      'event dropped after maxDeliver deliveries',
    );
    entry.state = 'done';
    entry.event = undefined;
  }

  /** Saves the checkpoint when the settled prefix grew, at most every checkpointEveryMs unless forced. */
  private async saveCheckpoint(now: number, force: boolean): Promise<void> {
    const position = this.window.advance();
    if (comparePositions(position, this.saved) <= 0) return;
    if (!force && now < this.lastSaveAt + this.settings.checkpointEveryMs) return;
    await this.store.saveCheckpoint(checkpointName(this.options.name), position);
    this.saved = position;
    this.lastSaveAt = now;
  }

  private sleepFor(): number {
    const now = Date.now();
    const wakeAts = [this.nextPollAt, this.window.nextTimer()];
    if (comparePositions(this.window.advance(), this.saved) > 0) wakeAts.push(this.lastSaveAt + this.settings.checkpointEveryMs);
    if (this.moreToRead && this.window.unsettled < this.readAhead) wakeAts.push(now);
    const next = Math.min(...wakeAts.filter((t): t is number => t !== undefined));
    return Math.max(0, next - now);
  }
}
