import type { LogPosition, StoredEvent } from './types';

/** assay_events as `Database.query` returns it (int8 → number, xid8 → string, timestamptz → Date). */
export interface StoredEventRow {
  global_position: number;
  transaction_id: string;
  stream_id: string;
  stream_position: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  created_at: Date;
}

/** Every column, in the order above; `transaction_id::text` is explicit so it never becomes a number. */
export const STORED_EVENT_COLUMNS = storedEventColumns('data');

/** The same columns with `data` given by an expression (e.g. without some keys). */
export function storedEventColumns(data: string): string {
  return `global_position, transaction_id::text as transaction_id, stream_id, stream_position, event_id,
  type, schema_version, ${data} as data, metadata, created_at`;
}

/** A stream's version (its latest position, 0 when it has none) as an SQL expression: one backward probe of (stream_id, stream_position). */
export function streamVersionSql(streamId: string): string {
  return `coalesce((select latest.stream_position from assay_events latest where latest.stream_id = ${streamId} order by latest.stream_position desc limit 1), 0)`;
}

export function toStoredEvent(row: StoredEventRow): StoredEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    streamPosition: row.stream_position,
    globalPosition: asSafeNumber(row.global_position, 'global_position'),
    transactionId: row.transaction_id,
    createdAt: row.created_at,
  };
}

export function positionOf(event: Pick<StoredEvent, 'transactionId' | 'globalPosition'>): LogPosition {
  return { transactionId: event.transactionId, globalPosition: event.globalPosition };
}

export function samePosition(a: LogPosition, b: LogPosition): boolean {
  return a.transactionId === b.transactionId && a.globalPosition === b.globalPosition;
}

/** int8 columns arrive as numbers when exact, as strings beyond 2^53 (see @assay/database). */
export function asSafeNumber(value: number | string, column: string): number {
  if (typeof value === 'number') return value;
  throw new Error(`${column} ${value} is beyond JavaScript's exact integers`);
}
