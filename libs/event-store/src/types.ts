/**
 * The event store's public contract. PostgreSQL is the source of truth: every other store (read
 * models, JetStream) is derived from the global log and can be rebuilt from it.
 */

/** Where a reader of the global log stands. Ordered by (transactionId, globalPosition): see schema. */
export interface LogPosition {
  /** The appending transaction's id (xid8) as a decimal string: 64-bit, so not a JS number. */
  readonly transactionId: string;
  readonly globalPosition: number;
}

/** Before the first event. */
export const LOG_START: LogPosition = { transactionId: '0', globalPosition: 0 };

export interface NewEvent {
  readonly type: string;
  readonly data: unknown;
  /** Defaults to the current schema version of `type` (see @assay/contracts). */
  readonly schemaVersion?: number;
  /** Correlation, causation, actor… Free-form JSON. */
  readonly metadata?: Record<string, unknown>;
  /** Defaults to a random UUID. Supplying one makes a retried append recognisable. */
  readonly eventId?: string;
}

export interface StoredEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
  readonly streamId: string;
  /** 1 for a stream's first event. */
  readonly streamPosition: number;
  readonly globalPosition: number;
  readonly transactionId: string;
  readonly createdAt: Date;
}

/**
 * `number`: the stream must be exactly at this version (0 = empty or absent).
 * 'no_stream': the stream must not exist. 'any': no check.
 */
export type ExpectedVersion = number | 'no_stream' | 'any';

export interface AppendRequest {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
  readonly events: readonly NewEvent[];
}

export interface AppendResult {
  /** New version of each stream appended to. */
  readonly streamVersions: ReadonlyMap<string, number>;
  /** The events as stored, in append order. */
  readonly events: readonly StoredEvent[];
}

export interface ReadAllOptions {
  /** Events strictly after this position. */
  readonly after: LogPosition;
  readonly limit: number;
  /**
   * Also stop once the events read hold this many bytes of data (their stored size, as
   * pg_column_size gives it). The first event is always read, whatever its size. Bounds a
   * reader's memory where `limit` alone would not: records may be large.
   */
  readonly maxBytes?: number;
  /** Only these event types (the position still advances past others). */
  readonly types?: readonly string[];
  /**
   * Per event type, top-level keys of `data` the read leaves out: payloads the reader does not
   * look at (it may copy them in SQL from assay_events instead), so they are neither turned into
   * text nor sent nor parsed. `maxBytes` still counts the stored size.
   */
  readonly omitFromData?: Readonly<Record<string, readonly string[]>>;
}

export interface ReadAllResult {
  readonly events: readonly StoredEvent[];
  /** Where the next read starts. Advances past filtered-out events too. */
  readonly position: LogPosition;
  /**
   * The readable end of the log at this read: pg_snapshot_xmin of its snapshot (xid8, decimal).
   * Every transaction below it had finished; events of transactions at or above it come later.
   */
  readonly horizon: string;
  /**
   * Committed events (of this read's kind: any, or for a reader of sparse types only, those) exist
   * at or above the horizon: an older transaction that is still running
   * holds them back. They become readable when it ends, which may send no notification (if it
   * appended nothing), so a reader should look again soon rather than wait for a hint.
   */
  readonly heldBack: boolean;
  /**
   * Some of the events held back (whatever this read's types) are of sparse types (not the
   * per-record DENSE_EVENT_TYPES): their readers too should look again soon.
   */
  readonly sparseHeldBack: boolean;
  /**
   * The read stopped at `limit` or `maxBytes`, or a filtered read at the end of the window of the
   * log it looks through: more events may follow at once.
   */
  readonly full: boolean;
}
