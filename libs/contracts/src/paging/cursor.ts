import { AssayError } from '../errors/assay-error';

/**
 * Cursors are opaque to clients: base64url of the keyset position they stand for, made with
 * encodeCursor. Each list reads its own shape back with the decoder of that shape, which refuses
 * anything else with BAD_USER_INPUT (garbage, another list's cursor, a hand-made one): a cursor
 * must never reach a query as a value of the wrong type.
 */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function invalidCursor(cursor: string): AssayError {
  return new AssayError('BAD_USER_INPUT', `Cursor "${cursor}" is not valid: pass an endCursor from a previous page of the same list.`);
}

function cursorParts(cursor: string): unknown[] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts)) return parts;
  } catch {
    // fall through
  }
  throw invalidCursor(cursor);
}

/** A position cursor, `encodeCursor([seq])` (an event's global position: a non-negative integer). */
export function decodeSeqCursor(cursor: string): number {
  const parts = cursorParts(cursor);
  const [seq] = parts;
  if (parts.length !== 1 || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw invalidCursor(cursor);
  return seq;
}

/** A time-and-id cursor, `encodeCursor([date.toISOString(), id])`. */
export function decodeTimeIdCursor(cursor: string): { at: string; id: string } {
  const parts = cursorParts(cursor);
  const [at, id] = parts;
  if (parts.length !== 2 || typeof at !== 'string' || typeof id !== 'string' || !isIsoInstant(at)) throw invalidCursor(cursor);
  return { at, id };
}

/** Exactly what Date#toISOString writes (so that PostgreSQL reads it as the same instant). */
function isIsoInstant(text: string): boolean {
  const date = new Date(text);
  return !Number.isNaN(date.getTime()) && date.toISOString() === text;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new AssayError('BAD_USER_INPUT', `first must be an integer from 0 to ${MAX_PAGE_SIZE}.`);
  }
  return first;
}
