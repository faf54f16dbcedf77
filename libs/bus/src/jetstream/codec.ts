import { AssayError } from '@assay/contracts';
import type { StoredEvent } from '@assay/event-store';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Message body: the StoredEvent as JSON, createdAt as an ISO string. */
export function encodeEvent(event: StoredEvent): Uint8Array {
  return encoder.encode(JSON.stringify({ ...event, createdAt: event.createdAt.toISOString() }));
}

export function decodeEvent(data: Uint8Array): StoredEvent {
  const raw = JSON.parse(decoder.decode(data)) as Record<string, unknown>;
  if (typeof raw?.eventId !== 'string' || typeof raw.type !== 'string' || typeof raw.createdAt !== 'string') {
    throw new AssayError('EVENT_PAYLOAD_INVALID', 'A bus message is not a stored event (eventId, type or createdAt missing).');
  }
  return { ...(raw as unknown as StoredEvent), createdAt: new Date(raw.createdAt) };
}
