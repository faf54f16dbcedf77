import { AssayError } from '../errors/assay-error';

/** Cursors are opaque to clients: base64url of the keyset position they stand for. */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string): (string | number)[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts)) return parts;
  } catch {
    // fall through
  }
  throw new AssayError('BAD_USER_INPUT', `Cursor "${cursor}" is not valid: pass an endCursor from a previous page.`);
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
