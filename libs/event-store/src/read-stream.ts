import type { Sql } from '@assay/database';
import { STORED_EVENT_COLUMNS, StoredEventRow, toStoredEvent } from './stored-event-row';
import type { StoredEvent } from './types';

/**
 * Reading one aggregate's history. Streams are read by (stream_id, stream_position) through the
 * unique key's index; commit order does not matter here because a stream's positions are only
 * ever taken by one committed writer each (see append).
 */

export interface ReadStreamOptions {
  /** Only events after this stream position (e.g. the version a cached state reflects). */
  readonly after?: number;
}

export async function readStream(sql: Sql, streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
  const rows = await sql.query<StoredEventRow>(
    `select ${STORED_EVENT_COLUMNS} from assay_events
      where stream_id = $1 and stream_position > $2
      order by stream_position`,
    [streamId, options.after ?? 0],
  );
  return rows.map(toStoredEvent);
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
  const [row] = await sql.query<{ version: number | null }>(
    `select max(stream_position) as version from assay_events where stream_id = $1`,
    [streamId],
  );
  return row?.version ?? 0;
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
