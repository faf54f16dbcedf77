import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { subscriptionSubjects, validateTopic } from '../broadcast/topic';
import type { BroadcastHandler } from '../types';
import { errorFields, type BusLogger } from '../util/logger';
import type { Subjects } from './subjects';

const encoder = new TextEncoder();

/**
 * Broadcasts over core NATS: every subscribed process receives every message (no queue group), and
 * nothing is stored. A process that was disconnected misses what was sent meanwhile and re-reads state.
 */
export class NatsBroadcaster {
  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly logger: BusLogger,
  ) {}

  broadcast(topic: string, payload: unknown): void {
    validateTopic(topic, false);
    try {
      this.nc.publish(`${this.subjects.broadcastBase}.${topic}`, encoder.encode(JSON.stringify(payload ?? null)));
    } catch (error) {
      // Fire-and-forget by contract: a closed or draining connection loses the broadcast, loudly.
      this.logger.warn({ topic, ...errorFields(error) }, 'broadcast dropped');
    }
  }

  onBroadcast(topic: string, handler: BroadcastHandler): () => void {
    validateTopic(topic, true);
    const subscriptions: Subscription[] = subscriptionSubjects(this.subjects.broadcastBase, topic).map((subject) =>
      this.nc.subscribe(subject, {
        callback: (error, msg) => {
          if (error) {
            this.logger.warn({ topic, ...errorFields(error) }, 'broadcast subscription failed');
            return;
          }
          const received = this.subjects.topicOf(msg.subject);
          try {
            handler(msg.json(), received);
          } catch (handlerError) {
            this.logger.warn({ topic: received, ...errorFields(handlerError) }, 'broadcast handler threw');
          }
        },
      }),
    );
    return () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
    };
  }
}
