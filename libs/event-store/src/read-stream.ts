import type { Sql } from '@assay/database';
import { asSafeNumber, STORED_EVENT_COLUMNS, StoredEventRow, streamVersionSql, toStoredEvent } from './stored-event-row';
import type { StoredEvent } from './types';

/**
 * Reading one aggregate's history. Streams are read by (stream_id, stream_position) through the
 * unique key's index; commit order does not matter here because a stream's positions are only
 * ever taken by one committed writer each (see append).
 */

export interface ReadStreamOptions {
  /** Only events after this stream position (e.g. the version a cached state reflects). */
  readonly after?: number;
  /**
   * Only events of these types (positions still count every event). For a state that depends on
   * a few types of a long stream: a run's state needs its RunCreated and notes, not the payloads
   * of its million RecordAdded.
   */
  readonly types?: readonly string[];
}

export async function readStream(sql: Sql, streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
  return (await loadStream(sql, streamId, options)).events;
}

/**
 * A stream's events (after `after`, of `types`) and its version, read in one snapshot: the version
 * counts every event, including those `types` leaves out, so it is the one to append after.
 */
export async function loadStream(sql: Sql, streamId: string, options: ReadStreamOptions = {}): Promise<{ events: StoredEvent[]; version: number }> {
  const params: unknown[] = [streamId, options.after ?? 0];
  const typeFilter = options.types ? `and type = any($${params.push(options.types)}::text[])` : '';
  const rows = await sql.query<{ version: number } & Partial<StoredEventRow>>(
    `select v.version, e.*
       from (select ${streamVersionSql('$1')} as version) v
       left join lateral (
         select ${STORED_EVENT_COLUMNS} from assay_events
          where stream_id = $1 and stream_position > $2 ${typeFilter}
          order by stream_position) e on true`,
    params,
  );
  const events = rows.filter((row) => row.event_id != null).map((row) => toStoredEvent(row as StoredEventRow));
  return { events, version: rows[0].version };
}

/**
 * Where a stream's events (of `types`) lie in the global log, and the stream's version, in one
 * snapshot and without payloads: a long stream (a run's RecordAdded) is then read a page at a
 * time with `readEventsAt`, in memory that does not grow with the stream.
 */
export async function loadStreamPositions(sql: Sql, streamId: string, options: Pick<ReadStreamOptions, 'types'> = {}): Promise<{ globalPositions: number[]; version: number }> {
  const params: unknown[] = [streamId];
  const typeFilter = options.types ? `and type = any($${params.push(options.types)}::text[])` : '';
  const rows = await sql.query<{ version: number; global_position: string | number | null }>(
    `select v.version, e.global_position
       from (select ${streamVersionSql('$1')} as version) v
       left join lateral (
         select global_position from assay_events where stream_id = $1 ${typeFilter} order by stream_position) e on true`,
    params,
  );
  const globalPositions = rows.filter((row) => row.global_position != null).map((row) => asSafeNumber(row.global_position!, 'global_position'));
  return { globalPositions, version: rows[0].version };
}

/** Several streams in one query. Every requested id is in the map; absent streams map to []. */
export async function readStreams(sql: Sql, streamIds: readonly string[]): Promise<Map<string, StoredEvent[]>> {
  const result = new Map<string, StoredEvent[]>(streamIds.map((id) => [id, []]));
  if (streamIds.length === 0) return result;
  const rows = await sql.query<StoredEventRow>(
    // assay_stream_events: the index scan, whatever the planner's statistics (see its migration).
    `select ${STORED_EVENT_COLUMNS} from assay_stream_events($1::text[]) order by stream_id, stream_position`,
    [[...new Set(streamIds)]],
  );
  for (const row of rows) result.get(row.stream_id)!.push(toStoredEvent(row));
  return result;
}

/** The stream's latest position: 0 when it has no events. */
export async function streamVersion(sql: Sql, streamId: string): Promise<number> {
  const [row] = await sql.query<{ version: number }>(`select ${streamVersionSql('$1')} as version`, [streamId]);
  return row.version;
}

/** Events by global position (the primary key), in position order; unknown positions are skipped. */
export async function readEventsAt(sql: Sql, globalPositions: readonly number[]): Promise<StoredEvent[]> {
  if (globalPositions.length === 0) return [];
  const rows = await sql.query<StoredEventRow>(
    `select ${STORED_EVENT_COLUMNS} from assay_events where global_position = any($1::bigint[]) order by global_position`,
    [globalPositions],
  );
  return rows.map(toStoredEvent);
}

/** Events by id (the unique event_id index), in position order; unknown ids are skipped. */
export async function readEventsById(sql: Sql, eventIds: readonly string[]): Promise<StoredEvent[]> {
  if (eventIds.length === 0) return [];
  const rows = await sql.query<StoredEventRow>(
    `select ${STORED_EVENT_COLUMNS} from assay_events where event_id = any($1::uuid[]) order by global_position`,
    [eventIds.map((id) => id.toLowerCase())],
  );
  return rows.map(toStoredEvent);
}
