import { AssayError } from '@assay/contracts';
import type { ExpectedVersion } from './types';

/**
 * The stream was not at the version the writer decided from: someone else appended meanwhile.
 * Re-read the stream, decide again, append again (or give up if the decision no longer holds).
 */
export class VersionConflictError extends AssayError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super('VERSION_CONFLICT', `Stream "${streamId}" is at version ${actual}, expected ${describe(expected)}. Re-read it and try again.`, {
      streamId,
      expected,
      actual,
    });
    this.name = 'VersionConflictError';
  }
}

/**
 * An event with this id is already stored: typically a retried append whose first attempt
 * committed. A conflict too (the stream moved), so it extends VersionConflictError.
 */
export class DuplicateEventError extends VersionConflictError {
  constructor(
    readonly eventId: string,
    streamId: string,
    expected: ExpectedVersion,
    actual: number,
  ) {
    super(streamId, expected, actual);
    this.message = `Event ${eventId} is already stored (stream "${streamId}" is at version ${actual}). Re-read the stream before appending again.`;
    this.details.eventId = eventId;
    this.name = 'DuplicateEventError';
  }
}

function describe(expected: ExpectedVersion): string {
  if (expected === 'no_stream') return 'no stream';
  return String(expected);
}
