/**
 * Subject layout (one prefix per installation, so several can share a NATS account):
 *   `${prefix}.events.${eventType}`  stored events, captured by the stream
 *   `${prefix}.broadcast.${topic}`   core NATS fan-out, never stored
 */
export class Subjects {
  constructor(readonly prefix: string) {}

  /** Everything the stream captures. */
  get allEvents(): string {
    return `${this.prefix}.events.>`;
  }

  event(type: string): string {
    return `${this.prefix}.events.${type}`;
  }

  get broadcastBase(): string {
    return `${this.prefix}.broadcast`;
  }

  /** The topic of a broadcast subject (everything after the base). */
  topicOf(subject: string): string {
    return subject.slice(this.broadcastBase.length + 1);
  }
}
