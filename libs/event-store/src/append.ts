import { randomUUID } from 'node:crypto';
import { AssayError, currentSchemaVersion, isEventType } from '@assay/contracts';
import type { Database, Sql } from '@assay/database';
import { appendedTypesHint } from './appended-hint';
import { DuplicateEventError, VersionConflictError } from './errors';
import { asSafeNumber } from './stored-event-row';
import type { AppendRequest, AppendResult, ExpectedVersion, StoredEvent } from './types';

/** The channel readers LISTEN on. The payload names the types appended (appended-hint.ts): a hint to look again. */
export const EVENTS_CHANNEL = 'assay_events';

/** Retries after losing a race on a stream's next position (see `append`). */
const MAX_ATTEMPTS = 10;

/** One event ready to insert: ids and schema versions fixed once, so retries insert the same event. */
interface PendingRow {
  n: number;
  stream_id: string;
  stream_position: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: Record<string, unknown>;
}

interface PreparedRequest {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
  readonly rows: Omit<PendingRow, 'n' | 'stream_position'>[];
}

/**
 * Appends to one or more streams in ONE transaction: the caller's `tx` if given (then inside a
 * savepoint, so a lost race can be retried without aborting the caller's work), else its own.
 *
 * Concurrency: each stream's current version is read and checked against the expectation; then
 * all rows are inserted with explicit stream positions in one statement. Two writers that both
 * saw version n both try to insert position n + 1; the unique (stream_id, stream_position) key
 * lets exactly one succeed, and the other's insert fails once the winner commits. The loser then
 * starts over: its re-read shows the new version, so a writer with a numeric or 'no_stream'
 * expectation gets a VersionConflictError, and a writer with 'any' simply appends after it.
 */
export async function appendEvents(db: Database, requests: readonly AppendRequest[], tx?: Sql): Promise<AppendResult> {
  const prepared = prepare(requests);
  if (prepared.length === 0) return { streamVersions: new Map(), events: [] };
  for (let attempt = 1; ; attempt++) {
    try {
      return tx ? await inSavepoint(tx, (sql) => appendOnce(sql, prepared)) : await db.transaction((sql) => appendOnce(sql, prepared));
    } catch (error) {
      if (isLostRace(error) && attempt < MAX_ATTEMPTS) {
        // Small random pause so racing writers do not collide again in lockstep.
        await sleep(Math.random() * 5 * attempt);
        continue;
      }
      throw await translateError(error, prepared, tx ?? db);
    }
  }
}

async function appendOnce(sql: Sql, requests: readonly PreparedRequest[]): Promise<AppendResult> {
  const versions = await currentVersions(sql, [...new Set(requests.map((r) => r.streamId))]);
  const rows: PendingRow[] = [];
  for (const request of requests) {
    const actual = versions.get(request.streamId) ?? 0;
    if (!matches(request.expectedVersion, actual)) throw new VersionConflictError(request.streamId, request.expectedVersion, actual);
    let position = actual;
    for (const row of request.rows) rows.push({ ...row, n: rows.length, stream_position: ++position });
    versions.set(request.streamId, position);
  }
  const streamVersions = new Map(requests.map((r) => [r.streamId, versions.get(r.streamId) ?? 0]));
  if (rows.length === 0) return { streamVersions, events: [] };

  // One statement for the whole batch: the rows travel as one JSON array and are expanded by
  // jsonb_to_recordset, so 1,000 events cost one round trip and one plan, not 1,000 of each.
  // `order by n` makes global positions follow the order the caller gave.
  const json = JSON.stringify(rows);
  // What is returned is what a read will give back (Dates as strings, undefined dropped…).
  const stored: PendingRow[] = JSON.parse(json);
  // The NOTIFY rides in the same statement (one round trip fewer per append). It is delivered when
  // this transaction commits, never before and never if it rolls back. Its payload names the types
  // appended, so a reader of other types need not wake (see appendedTypesHint).
  const insertedRows = await sql.query<{ event_id: string; global_position: number; transaction_id: string; created_at: Date }>(
    `with inserted as (
       insert into assay_events (stream_id, stream_position, event_id, type, schema_version, data, metadata)
       select r.stream_id, r.stream_position, r.event_id, r.type, r.schema_version, coalesce(r.data, 'null'::jsonb), r.metadata
         from jsonb_to_recordset($1::jsonb) as r(
           n int, stream_id text, stream_position int, event_id uuid, type text, schema_version int, data jsonb, metadata jsonb)
        order by r.n
       returning event_id, global_position, transaction_id::text as transaction_id, created_at),
     notified as (select pg_notify('${EVENTS_CHANNEL}', $2))
     select inserted.* from inserted, notified`,
    [json, appendedTypesHint(rows.map((row) => row.type))],
  );

  const byId = new Map(insertedRows.map((row) => [row.event_id, row]));
  const events = stored.map((row): StoredEvent => {
    const inserted = byId.get(row.event_id)!;
    return {
      eventId: row.event_id,
      type: row.type,
      schemaVersion: row.schema_version,
      data: row.data,
      metadata: row.metadata,
      streamId: row.stream_id,
      streamPosition: row.stream_position,
      globalPosition: asSafeNumber(inserted.global_position, 'global_position'),
      transactionId: inserted.transaction_id,
      createdAt: inserted.created_at,
    };
  });
  return { streamVersions, events };
}

/** Latest position of each stream (0 when absent): one index probe per stream, in one query. */
async function currentVersions(sql: Sql, streamIds: readonly string[]): Promise<Map<string, number>> {
  const rows = await sql.query<{ stream_id: string; version: number }>(
    `select s.stream_id,
            coalesce((select e.stream_position from assay_events e
                       where e.stream_id = s.stream_id order by e.stream_position desc limit 1), 0) as version
       from unnest($1::text[]) as s(stream_id)`,
    [streamIds],
  );
  return new Map(rows.map((row) => [row.stream_id, row.version]));
}

function matches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  return expected === actual;
}

function prepare(requests: readonly AppendRequest[]): PreparedRequest[] {
  const seen = new Set<string>();
  return requests.map((request) => {
    if (typeof request.streamId !== 'string' || request.streamId.length === 0) {
      throw new AssayError('BAD_USER_INPUT', 'Every append request needs a non-empty streamId.');
    }
    const expected = request.expectedVersion;
    if (!(expected === 'any' || expected === 'no_stream' || (Number.isInteger(expected) && expected >= 0))) {
      throw new AssayError('BAD_USER_INPUT', `Expected version of "${request.streamId}" must be 'any', 'no_stream' or an integer >= 0.`);
    }
    const rows = request.events.map((event) => {
      // PostgreSQL prints uuids in lower case; so do we, so ids compare equal everywhere.
      const eventId = (event.eventId ?? randomUUID()).toLowerCase();
      if (seen.has(eventId)) throw new AssayError('BAD_USER_INPUT', `Event id ${eventId} appears twice in one append.`);
      seen.add(eventId);
      return {
        stream_id: request.streamId,
        event_id: eventId,
        type: event.type,
        schema_version: event.schemaVersion ?? (isEventType(event.type) ? currentSchemaVersion[event.type] : 1),
        data: event.data ?? null,
        metadata: event.metadata ?? {},
      };
    });
    return { streamId: request.streamId, expectedVersion: expected, rows };
  });
}

/** Runs `fn` inside a savepoint of the caller's transaction, undoing only its own work on failure. */
async function inSavepoint<T>(tx: Sql, fn: (sql: Sql) => Promise<T>): Promise<T> {
  await tx.query('savepoint assay_append');
  try {
    const result = await fn(tx);
    await tx.query('release savepoint assay_append');
    return result;
  } catch (error) {
    await tx.query('rollback to savepoint assay_append');
    await tx.query('release savepoint assay_append');
    throw error;
  }
}

interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
}

/** Another writer took a position we wanted (and has committed), or a deadlock between two such writers. */
function isLostRace(error: unknown): boolean {
  const pg = error as PgError;
  return (pg?.code === '23505' && pg.constraint === 'assay_events_stream_position_key') || pg?.code === '40P01';
}

/**
 * Unique violations as the conflicts they are (with the stream's version now, read through
 * `reader`: the pool, or the caller's transaction once its savepoint is rolled back); anything
 * else unchanged.
 */
async function translateError(error: unknown, requests: readonly PreparedRequest[], reader: Sql): Promise<unknown> {
  const pg = error as PgError;
  if (pg?.code !== '23505') return error;
  const versionNow = async (streamId: string) => (await currentVersions(reader, [streamId])).get(streamId) ?? 0;
  if (pg.constraint === 'assay_events_event_id_key') {
    const eventId = /\(event_id\)=\(([^)]*)\)/.exec(pg.detail ?? '')?.[1] ?? 'unknown';
    const request = requests.find((r) => r.rows.some((row) => row.event_id === eventId)) ?? requests[0];
    return new DuplicateEventError(eventId, request.streamId, request.expectedVersion, await versionNow(request.streamId));
  }
  if (pg.constraint === 'assay_events_stream_position_key') {
    // Only after MAX_ATTEMPTS lost races in a row: report it as the conflict it is.
    const streamId = /^Key \(stream_id, stream_position\)=\((.*), \d+\) already exists\.$/.exec(pg.detail ?? '')?.[1];
    const request = requests.find((r) => r.streamId === streamId) ?? requests[0];
    return new VersionConflictError(request.streamId, request.expectedVersion, await versionNow(request.streamId));
  }
  return error;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
