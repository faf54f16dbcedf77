import { AssayError } from '@assay/contracts';
import type { StoredEvent } from '@assay/event-store';
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { encodeEvent } from './codec';
import type { Subjects } from './subjects';

export interface PublishResult {
  readonly published: number;
  /** Already in the stream within the duplicate window (a relay re-publishing after a restart). */
  readonly duplicates: number;
}

interface PendingAck {
  readonly eventId: string;
  resolve(duplicate: boolean): void;
  reject(error: Error): void;
}

/**
 * Publishes stored events to JetStream with Nats-Msg-Id = eventId, asynchronously: every publish
 * goes out at once with its own reply subject under one inbox subscription, and the PubAcks are
 * matched back as they arrive (JetStream's "async publish"). `js.publish()` would cost a request
 * object, a timer and two eagerly built Error objects (with stack traces) per event; on this
 * relay's hot path that was a fifth of the runs service's CPU.
 *
 * Publishes leave in array order on one connection, so the stream keeps the log's order. One
 * timeout covers a whole window: an event without its PubAck by then fails the call, and
 * publishing again is safe (duplicates are dropped by event id).
 */
export class JetStreamPublisher {
  private readonly inbox = createInbox();
  private readonly pending = new Map<string, PendingAck>();
  private subscription: Subscription | undefined;
  private sequence = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly streamName: string,
    private readonly window: number,
    private readonly pubAckTimeoutMs: number,
  ) {}

  /** Resolves when every event has its PubAck; rejects (after all settle) if any has none. */
  async publish(events: readonly StoredEvent[]): Promise<PublishResult> {
    this.subscription ??= this.nc.subscribe(`${this.inbox}.*`, { callback: (error, msg) => void (error || this.onAck(msg)) });
    let duplicates = 0;
    const failures: { eventId: string; error: Error }[] = [];
    for (let start = 0; start < events.length; start += this.window) {
      const window = events.slice(start, start + this.window);
      const acks = window.map((event) => this.send(event));
      const timer = setTimeout(() => this.expire(acks.map((a) => a.token)), this.pubAckTimeoutMs);
      const settled = await Promise.allSettled(acks.map((a) => a.acked));
      clearTimeout(timer);
      settled.forEach((result, i) => {
        if (result.status === 'fulfilled') duplicates += result.value ? 1 : 0;
        else failures.push({ eventId: window[i].eventId, error: result.reason });
      });
    }
    if (failures.length > 0) {
      throw new AssayError(
        'UNAVAILABLE',
        `${failures.length} of ${events.length} events were not stored by JetStream (first: ${failures[0].error.message}). Publishing again is safe: duplicates are dropped by event id.`,
        { failedEventIds: failures.slice(0, 20).map((f) => f.eventId) },
      );
    }
    return { published: events.length - duplicates, duplicates };
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.expire([...this.pending.keys()]);
  }

  private send(event: StoredEvent): { token: string; acked: Promise<boolean> } {
    const token = String(++this.sequence);
    const acked = new Promise<boolean>((resolve, reject) => this.pending.set(token, { eventId: event.eventId, resolve, reject }));
    const h = headers();
    h.set('Nats-Msg-Id', event.eventId);
    // Refuse to land anywhere but our stream (a misconfigured overlapping stream would take it).
    h.set('Nats-Expected-Stream', this.streamName);
    try {
      const body = encodeEvent(event);
      const maxPayload = this.nc.info?.max_payload;
      if (maxPayload !== undefined && body.length > maxPayload) {
        // Not a passing failure: this event is retried, and every later one waits behind it, until
        // the server takes messages this large.
        throw new Error(
          `event ${event.eventId} (${event.type}) is ${body.length} bytes, over the NATS server's max_payload of ${maxPayload}: ` +
            'raise max_payload in the NATS configuration, and keep ASSAY_MAX_RECORD_BYTES below it (see docs/operations.md)',
        );
      }
      this.nc.publish(this.subjects.event(event.type), body, { headers: h, reply: `${this.inbox}.${token}` });
    } catch (error) {
      this.settle(token, error instanceof Error ? error : new Error(String(error)));
    }
    return { token, acked };
  }

  private onAck(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    // A status message without a body: 503 means no stream listens on the subject.
    if (msg.headers?.hasError) {
      return this.settle(token, new Error(`JetStream answered ${msg.headers.code} ${msg.headers.description || ''}`.trim()));
    }
    try {
      const ack = msg.json<{ duplicate?: boolean; error?: { code: number; description: string } }>();
      if (ack.error) this.settle(token, new Error(`JetStream refused the event: ${ack.error.description} (${ack.error.code})`));
      else this.settle(token, Boolean(ack.duplicate));
    } catch (error) {
      this.settle(token, new Error(`unreadable PubAck: ${String(error)}`));
    }
  }

  private expire(tokens: readonly string[]): void {
    for (const token of tokens) this.settle(token, new Error(`no PubAck within ${this.pubAckTimeoutMs} ms`));
  }

  private settle(token: string, outcome: boolean | Error): void {
    const pending = this.pending.get(token);
    if (!pending) return;
    this.pending.delete(token);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}
