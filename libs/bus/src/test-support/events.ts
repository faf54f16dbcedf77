import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '@assay/event-store';

let position = 0;

/** A StoredEvent as the store would hand it out, for tests that bypass the store. */
export function storedEvent(type: string, data: unknown = {}, overrides: Partial<StoredEvent> = {}): StoredEvent {
  position++;
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: {},
    streamId: `test-${position}`,
    streamPosition: 1,
    globalPosition: position,
    transactionId: String(1000 + position),
    createdAt: new Date(),
    ...overrides,
  };
}

export function storedEvents(type: string, count: number): StoredEvent[] {
  return Array.from({ length: count }, (_, i) => storedEvent(type, { i }));
}
