import { topicMatches, validateTopic } from '../broadcast/topic';
import type { BroadcastHandler } from '../types';
import { errorFields, type BusLogger } from '../util/logger';

/**
 * Broadcasts within one process, with the NATS bus's topic rules and payload semantics: handlers get
 * a JSON copy, asynchronously, so code behaves the same in both modes.
 */
export class LocalBroadcaster {
  private readonly subscribers = new Set<{ pattern: string; handler: BroadcastHandler }>();

  constructor(private readonly logger: BusLogger) {}

  broadcast(topic: string, payload: unknown): void {
    validateTopic(topic, false);
    const json = JSON.stringify(payload ?? null);
    for (const subscriber of this.subscribers) {
      if (!topicMatches(subscriber.pattern, topic)) continue;
      setImmediate(() => {
        if (!this.subscribers.has(subscriber)) return;
        try {
          subscriber.handler(JSON.parse(json), topic);
        } catch (error) {
          this.logger.warn({ topic, ...errorFields(error) }, 'broadcast handler threw');
        }
      });
    }
  }

  onBroadcast(pattern: string, handler: BroadcastHandler): () => void {
    validateTopic(pattern, true);
    const subscriber = { pattern, handler };
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  clear(): void {
    this.subscribers.clear();
  }
}
