import { comparePositions, type LogPosition, type StoredEvent } from '@assay/event-store';

/**
 * ready     read, waiting for a free in-flight slot
 * inflight  handed to the handler, deadline = ack wait
 * waiting   nak'ed, due again at readyAt
 * done      acked, termed, or dropped after maxDeliver: the checkpoint may pass it
 */
export type EntryState = 'ready' | 'inflight' | 'waiting' | 'done';

export interface Entry {
  readonly position: LogPosition;
  /** Dropped once done: a long wait behind one nak'ed event keeps only positions. */
  event: StoredEvent | undefined;
  state: EntryState;
  deliveryCount: number;
  /** Which delivery is the live one; settlements from older (timed-out) deliveries are ignored. */
  deliveryId: number;
  readyAt: number;
  deadline: number;
}

const positionOf = (event: StoredEvent): LogPosition => ({ transactionId: event.transactionId, globalPosition: event.globalPosition });

/**
 * The part of the global log one in-process consumer has read and not yet checkpointed, in log
 * order. The checkpoint may only move past a prefix of settled entries: whatever is unsettled at a
 * crash is read again at the next start.
 */
export class LogWindow {
  private entries: Entry[] = [];
  /**
   * Events published again (the reconciler's republish: their first deliveries were settled, and
   * the checkpoint may be past them). Delivered like the others, outside the log order: they never
   * hold the checkpoint back.
   */
  private republished: Entry[] = [];
  private settledThrough: LogPosition;
  private readTo: LogPosition;

  constructor(start: LogPosition) {
    this.settledThrough = start;
    this.readTo = start;
  }

  /** Where the next read starts. */
  get tail(): LogPosition {
    return this.readTo;
  }

  /** Entries not done yet: what the read-ahead limit counts. */
  get unsettled(): number {
    return this.entries.reduce((n, e) => (e.state === 'done' ? n : n + 1), 0);
  }

  /** Adds one page of readAll: its events and the position it reached (past filtered-out events too). */
  add(events: readonly StoredEvent[], position: LogPosition): void {
    for (const event of events) {
      this.entries.push({ position: positionOf(event), event, state: 'ready', deliveryCount: 0, deliveryId: 0, readyAt: 0, deadline: 0 });
    }
    if (comparePositions(position, this.readTo) > 0) this.readTo = position;
  }

  /**
   * Adds events published again, as fresh deliveries, except those still waiting to be settled
   * here (as JetStream drops a message id it already holds) and those not read yet (the log
   * delivers them anyway; a long backlog would otherwise deliver them twice). Returns how many were added.
   */
  republish(events: readonly StoredEvent[]): number {
    const pending = new Set<string>();
    for (const entry of [...this.entries, ...this.republished]) if (entry.state !== 'done' && entry.event) pending.add(entry.event.eventId);
    this.republished = this.republished.filter((entry) => entry.state !== 'done');
    const fresh = events.filter((event) => !pending.has(event.eventId) && comparePositions(positionOf(event), this.readTo) <= 0);
    for (const event of fresh) {
      this.republished.push({ position: positionOf(event), event, state: 'ready', deliveryCount: 0, deliveryId: 0, readyAt: 0, deadline: 0 });
    }
    return fresh.length;
  }

  /** Entries due for a delivery now: republished ones first, then in log order. */
  due(now: number, limit: number): Entry[] {
    const out: Entry[] = [];
    for (const entry of this.all()) {
      if (out.length >= limit) break;
      if (entry.state === 'ready' || (entry.state === 'waiting' && entry.readyAt <= now)) out.push(entry);
    }
    return out;
  }

  /** In-flight entries whose ack wait has run out. */
  overdue(now: number): Entry[] {
    return [...this.all()].filter((e) => e.state === 'inflight' && e.deadline <= now);
  }

  /** The next time something becomes due or overdue, if anything will. */
  nextTimer(): number | undefined {
    let next: number | undefined;
    for (const e of this.all()) {
      const at = e.state === 'waiting' ? e.readyAt : e.state === 'inflight' ? e.deadline : undefined;
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /**
   * Forgets the settled prefix and returns the furthest position at and before which everything is
   * settled: the checkpoint to save. With nothing unsettled that is the end of what was read.
   */
  advance(): LogPosition {
    let settled = 0;
    while (settled < this.entries.length && this.entries[settled].state === 'done') settled++;
    if (settled > 0) {
      this.settledThrough = this.entries[settled - 1].position;
      this.entries = this.entries.slice(settled);
    }
    if (this.entries.length === 0) this.settledThrough = this.readTo;
    return this.settledThrough;
  }

  private *all(): Iterable<Entry> {
    yield* this.republished;
    yield* this.entries;
  }
}
