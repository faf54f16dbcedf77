import type { StoredEvent } from '@assay/event-store';
import type { BusLogger } from '../util/logger';

/**
 * The relay's progress as periodic structured lines, never one per event: events and batches relayed
 * since the last line, duplicates JetStream dropped (a restart re-publishing), the rate, and the lag —
 * how old the last relayed event was when its PubAck came back.
 */
export class RelayProgress {
  private events = 0;
  private batches = 0;
  private duplicates = 0;
  private totalEvents = 0;
  private lagMs = 0;
  private maxLagMs = 0;
  private last: StoredEvent | undefined;
  private windowStart = Date.now();

  constructor(
    private readonly relay: string,
    private readonly everyMs: number,
    private readonly logger: BusLogger,
  ) {}

  record(batch: readonly StoredEvent[], duplicates: number): void {
    if (batch.length === 0) return;
    const now = Date.now();
    this.events += batch.length;
    this.totalEvents += batch.length;
    this.batches++;
    this.duplicates += duplicates;
    this.last = batch[batch.length - 1];
    this.lagMs = now - this.last.createdAt.getTime();
    this.maxLagMs = Math.max(this.maxLagMs, now - batch[0].createdAt.getTime());
    if (now - this.windowStart >= this.everyMs) this.flush();
  }

  /** Logs what accumulated since the last line, if anything did. */
  flush(): void {
    if (this.events === 0) return;
    const seconds = Math.max((Date.now() - this.windowStart) / 1000, 0.001);
    this.logger.info(
      {
        relay: this.relay,
        events: this.events,
        batches: this.batches,
        duplicates: this.duplicates,
        eventsPerSecond: Math.round(this.events / seconds),
        lagMs: this.lagMs,
        maxLagMs: this.maxLagMs,
        totalEvents: this.totalEvents,
        position: this.last && { transactionId: this.last.transactionId, globalPosition: this.last.globalPosition },
      },
      'relay progress',
    );
    this.events = 0;
    this.batches = 0;
    this.duplicates = 0;
    this.maxLagMs = 0;
    this.windowStart = Date.now();
  }
}
