import { AssayError } from '@assay/contracts';
import type { StoredEvent } from '@assay/event-store';
import type { JetStreamClient } from '@nats-io/jetstream';
import { encodeEvent } from './codec';
import type { Subjects } from './subjects';

export interface PublishResult {
  readonly published: number;
  /** Already in the stream within the duplicate window (a relay re-publishing after a restart). */
  readonly duplicates: number;
}

/**
 * Publishes stored events with Nats-Msg-Id = eventId, pipelined: up to `window` publishes wait for
 * their PubAck at once (one round trip each would cap a relay near 1/RTT events per second). The
 * publishes leave in array order on one connection, so the stream keeps the log's order.
 */
export class JetStreamPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly subjects: Subjects,
    private readonly streamName: string,
    private readonly window: number,
    private readonly pubAckTimeoutMs: number,
  ) {}

  /** Resolves when every event has its PubAck; rejects (after all settle) if any has none. */
  async publish(events: readonly StoredEvent[]): Promise<PublishResult> {
    let next = 0;
    let duplicates = 0;
    const failures: Array<{ eventId: string; error: unknown }> = [];
    const lane = async () => {
      while (next < events.length) {
        const event = events[next++];
        try {
          const ack = await this.js.publish(this.subjects.event(event.type), encodeEvent(event), {
            msgID: event.eventId,
            // Refuse to land anywhere but our stream (a misconfigured overlapping stream would take it).
            expect: { streamName: this.streamName },
            timeout: this.pubAckTimeoutMs,
          });
          if (ack.duplicate) duplicates++;
        } catch (error) {
          failures.push({ eventId: event.eventId, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.window, events.length) }, lane));
    if (failures.length > 0) {
      const first = failures[0].error;
      throw new AssayError(
        'UNAVAILABLE',
        `${failures.length} of ${events.length} events got no PubAck from JetStream (first: ${first instanceof Error ? first.message : String(first)}). Publishing again is safe: duplicates are dropped by event id.`,
        { failedEventIds: failures.slice(0, 20).map((f) => f.eventId) },
      );
    }
    return { published: events.length - duplicates, duplicates };
  }
}
