import { randomUUID } from 'node:crypto';
import { AssayError, currentSchemaVersion, isEventType } from '@assay/contracts';
import type { Database, Sql } from '@assay/database';
import { appendedTypesHint } from './appended-hint';
import { DuplicateEventError, VersionConflictError } from './errors';
import { streamVersion } from './read-stream';
import { asSafeNumber, streamVersionSql } from './stored-event-row';
import type { AppendRequest, AppendResult, ExpectedVersion, StoredEvent } from './types';

/** The channel readers LISTEN on. The payload names the types appended (appended-hint.ts): a hint to look again. */
export const EVENTS_CHANNEL = 'assay_events';

/** Retries after losing a race on a stream's next position (see `append`). */
const MAX_ATTEMPTS = 10;

/** One event ready to insert: ids and schema versions fixed once, so retries insert the same event. */
interface PreparedEvent {
  stream_id: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: Record<string, unknown>;
}

interface PreparedRequest {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
  readonly rows: PreparedEvent[];
}

/**
 * Appends to one or more streams atomically, in ONE statement: as a transaction of its own, or
 * inside the caller's `tx` if given (then in a savepoint, so a lost race can be retried without
 * aborting the caller's work). One statement is one round trip, and the appending transaction
 * is open only while it runs: every reader of the global log waits for it (see read-all.ts).
 *
 * Concurrency: the statement reads each stream's current version, checks it against the
 * expectation, and inserts the rows with explicit stream positions only if every expectation
 * holds. Two writers that both saw version n both try to insert position n + 1; the unique
 * (stream_id, stream_position) key lets exactly one succeed, and the other's insert fails once the
 * winner commits. The loser then starts over: its new statement sees the new version, so a writer
 * with a numeric or 'no_stream' expectation gets a VersionConflictError, and a writer with 'any'
 * simply appends after it.
 */
export async function appendEvents(db: Database, requests: readonly AppendRequest[], tx?: Sql): Promise<AppendResult> {
  const prepared = prepare(requests);
  if (prepared.length === 0) return { streamVersions: new Map(), events: [] };
  const statement = appendStatement(prepared);
  for (let attempt = 1; ; attempt++) {
    try {
      return tx ? await inSavepoint(tx, (sql) => appendOnce(sql, prepared, statement)) : await appendOnce(db, prepared, statement);
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

/** The append statement's parameters, built once: retries insert the very same events. */
interface AppendStatement {
  /** Per request: its stream, its expectation (null: 'any'; 'no_stream' is 0) and the rows of earlier requests on the same stream. */
  readonly checks: { q: number; stream_id: string; expected: number | null; before: number }[];
  /** Every row with its place in the batch (n: global positions follow it), its request (q) and its place in the stream after the version read (k). */
  readonly rows: (PreparedEvent & { n: number; q: number; k: number })[];
  /** What is sent: the checks, and each row as JSON (joined into one array for the statement). */
  readonly json: { checks: string; rows: readonly string[] };
  readonly hint: string;
}

function appendStatement(requests: readonly PreparedRequest[]): AppendStatement {
  const rowsSoFar = new Map<string, number>();
  const checks: AppendStatement['checks'] = [];
  const rows: AppendStatement['rows'] = [];
  requests.forEach((request, q) => {
    const before = rowsSoFar.get(request.streamId) ?? 0;
    const expected = request.expectedVersion === 'any' ? null : request.expectedVersion === 'no_stream' ? 0 : request.expectedVersion;
    checks.push({ q, stream_id: request.streamId, expected, before });
    request.rows.forEach((row, i) => rows.push({ ...row, n: rows.length, q, k: before + i + 1 }));
    rowsSoFar.set(request.streamId, before + request.rows.length);
  });
  return { checks, rows, json: { checks: JSON.stringify(checks), rows: rows.map((row) => JSON.stringify(row)) }, hint: appendedTypesHint(rows.map((row) => row.type)) };
}

type AppendedRow =
  | { kind: 'check'; q: number; version: number; event_id: null; global_position: null; transaction_id: null; created_at: null; stream_position: null }
  | { kind: 'event'; q: null; version: null; event_id: string; global_position: number; transaction_id: string; created_at: Date; stream_position: number };

async function appendOnce(sql: Sql, requests: readonly PreparedRequest[], statement: AppendStatement): Promise<AppendResult> {
  // The rows travel as one JSON array expanded by jsonb_to_recordset: 1,000 events cost one
  // round trip and one plan, not 1,000 of each. `order by n` makes global positions follow the
  // order the caller gave. The NOTIFY rides along: it is delivered when the transaction commits,
  // never before and never if it rolls back, and only if something was inserted. Its payload
  // names the types appended, so a reader of other types need not wake (see appendedTypesHint).
  const result = await sql.query<AppendedRow>(
    `with checks as materialized (
       select c.q, c.expected, c.before, ${streamVersionSql('c.stream_id')} as version
         from jsonb_to_recordset($1::jsonb) as c(q int, stream_id text, expected int, before int)),
     conflicts as (select 1 from checks where expected is not null and expected <> version + before),
     inserted as (
       insert into assay_events (stream_id, stream_position, event_id, type, schema_version, data, metadata)
       select r.stream_id, c.version + r.k, r.event_id, r.type, r.schema_version, coalesce(r.data, 'null'::jsonb), r.metadata
         from jsonb_to_recordset($2::jsonb) as r(
                n int, q int, k int, stream_id text, event_id uuid, type text, schema_version int, data jsonb, metadata jsonb)
         join checks c on c.q = r.q
        where not exists (select 1 from conflicts)
        order by r.n
       returning event_id, global_position, transaction_id::text as transaction_id, created_at, stream_position),
     notified as (select pg_notify('${EVENTS_CHANNEL}', $3) where exists (select 1 from inserted))
     select 'check' as kind, q, version, null::uuid as event_id, null::bigint as global_position, null as transaction_id,
            null::timestamptz as created_at, null::int as stream_position
       from checks
     union all
     select 'event', null, null, event_id, global_position, transaction_id, created_at, stream_position from inserted
     union all
     select 'notified', null, null, null, null, null, null, null from notified`,
    [statement.json.checks, `[${statement.json.rows.join(',')}]`, statement.hint],
  );

  const versionOf = new Map<number, number>();
  const inserted = new Map<string, Extract<AppendedRow, { kind: 'event' }>>();
  for (const row of result) {
    if (row.kind === 'check') versionOf.set(row.q, row.version);
    else if (row.kind === 'event') inserted.set(row.event_id, row);
  }
  const streamVersions = new Map<string, number>();
  for (const check of statement.checks) {
    const actual = versionOf.get(check.q)! + check.before;
    const request = requests[check.q];
    if (!matches(request.expectedVersion, actual)) throw new VersionConflictError(request.streamId, request.expectedVersion, actual);
    streamVersions.set(request.streamId, actual + request.rows.length);
  }
  if (statement.rows.length === 0) return { streamVersions, events: [] };

  const events = statement.rows.map((row, i): StoredEvent => {
    const written = inserted.get(row.event_id)!;
    return withPayloadFromJson(
      {
        eventId: row.event_id,
        type: row.type,
        schemaVersion: row.schema_version,
        streamId: row.stream_id,
        streamPosition: written.stream_position,
        globalPosition: asSafeNumber(written.global_position, 'global_position'),
        transactionId: written.transaction_id,
        createdAt: written.created_at,
      },
      statement.json.rows[i],
    );
  });
  return { streamVersions, events };
}

/**
 * The event with `data` and `metadata` as a read will give them back (Dates as strings, undefined
 * dropped…): parsed from the JSON that was sent, when first looked at. Most callers of append
 * never look, and with large records the copy cost as much as the serialisation.
 */
function withPayloadFromJson(event: Omit<StoredEvent, 'data' | 'metadata'>, json: string): StoredEvent {
  let payload: Pick<StoredEvent, 'data' | 'metadata'> | undefined;
  const parsed = () => (payload ??= JSON.parse(json) as Pick<StoredEvent, 'data' | 'metadata'>);
  return Object.defineProperties(event as StoredEvent, {
    data: { enumerable: true, get: () => parsed().data },
    metadata: { enumerable: true, get: () => parsed().metadata },
  });
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
  const versionNow = (streamId: string) => streamVersion(reader, streamId);
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
