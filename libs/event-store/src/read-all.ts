import { AssayError } from '@assay/contracts';
import type { Sql } from '@assay/database';
import { isDenseEventType } from './schema/003-sparse-types';
import { asSafeNumber, positionOf, storedEventColumns, StoredEventRow, toStoredEvent } from './stored-event-row';
import type { LogPosition, ReadAllOptions, ReadAllResult } from './types';

/** Rows of the log a filtered read looks through at most: its cost per read, however far behind it is. */
export const SCAN_WINDOW = 10_000;

/** The newest row's transaction. */
const NEWEST_XID = 'select e.transaction_id from assay_events e order by e.transaction_id desc, e.global_position desc limit 1';

/** With a byte budget: the running total of the kept rows' data sizes (pg_column_size), in log order. */
const BUDGET_COLUMN = `, sum(e.data_bytes) over (order by k.transaction_id, k.global_position rows unbounded preceding) as bytes_through`;

/**
 * Reading the global log in an order that never skips an event.
 *
 * Positions come from a sequence, drawn at insert time, so they are not commit order: T1 draws
 * 101, T2 draws 102 and commits first. A reader of "position > checkpoint" would pass 101 before
 * T1 commits and never see it. Instead (as Emmett does):
 *
 * 1. Only rows whose transaction_id is below the horizon pg_snapshot_xmin(pg_current_snapshot())
 *    are read. Every transaction still running has an id at or above it, so below it every
 *    transaction has finished: those rows are all there is, and none will appear later.
 * 2. They are read in (transaction_id, global_position) order, strictly after the checkpoint
 *    pair. A transaction that commits later has an id at or above today's horizon, so above any
 *    checkpoint taken today: its events sort after everything already read.
 *
 * Both halves matter. Filtering by the horizon but ordering by global_position still skips
 * events: a small transaction id can own a large position and vice versa.
 *
 * Rolled-back transactions leave holes in global_position; nothing waits for them. The cost: one
 * long-running writing transaction anywhere in the cluster (transaction ids are cluster-wide)
 * holds the horizon back for every reader until it ends; idle_in_transaction_session_timeout is
 * the backstop.
 *
 * Every read is one statement, and costs what it returns, not the size of the log (see
 * read-cost.spec.ts): the rows after the position come from `assay_log_window` (the ordered index
 * scan, whatever the planner's statistics), a filtered reader looks through at most SCAN_WINDOW
 * of them per read, and only the rows kept are fetched, by primary key. A reader whose types are
 * all sparse (none of DENSE_EVENT_TYPES, the per-record ones) looks only at sparse rows, through
 * their own index (`assay_sparse_log_window`), and asks whether sparse rows are held back.
 */
export async function readAll(sql: Sql, options: ReadAllOptions): Promise<ReadAllResult> {
  const { after, limit, types, maxBytes, omitFromData } = options;
  if (!Number.isInteger(limit) || limit < 1) throw new AssayError('BAD_USER_INPUT', 'readAll limit must be a positive integer.');
  if (maxBytes !== undefined && !(maxBytes > 0)) throw new AssayError('BAD_USER_INPUT', 'readAll maxBytes must be positive.');
  const filtered = types !== undefined;
  // A reader of sparse types only walks the sparse index (migration 003): a log of its types' size.
  const sparse = filtered && !types.some(isDenseEventType);
  const budgeted = maxBytes !== undefined;
  // A filtered read looks through a window of the log and keeps the rows of its types; an
  // unfiltered one keeps the whole window, of `limit` rows.
  const windowRows = filtered ? Math.max(SCAN_WINDOW, limit) : limit;
  const params: unknown[] = [after.transactionId, after.globalPosition, windowRows];
  const kept = filtered
    ? `select * from scan where type = any($${params.push(types)}::text[]) order by transaction_id, global_position limit $${params.push(limit)}`
    : 'select * from scan';
  // The kept rows, fetched by primary key in log order. With a byte budget, a row is read if the
  // rows before it left some of the budget (so the first row always is); bytes_through counts a
  // row's own data too.
  const page = `
    select k.transaction_id as log_xid, e.*${budgeted ? BUDGET_COLUMN : ''}
      from kept k
      cross join lateral (
        select ${storedEventColumns(dataWithout(omitFromData, params))}, pg_column_size(data) as data_bytes
          from assay_events where assay_events.global_position = k.global_position
         -- LIMIT keeps this a probe per kept row: flattened into a join, it may become a hash of the whole log.
         limit 1) e`;
  const budgetedPage = budgeted ? `select * from (${page}) p where p.bytes_through - p.data_bytes < $${params.push(maxBytes)}` : page;

  // One statement, one snapshot: the horizon, the window below it and the rows kept are read together.
  const rows = await sql.query<{ horizon: string; held_back: boolean | null; sparse_held_back: boolean; scanned: number; scan_end_xid: string | null; scan_end_position: number | null; bytes_through?: string } & Partial<StoredEventRow>>(
    `with horizon as (
       select s.horizon_xid,
              -- visible (committed) rows at or above the horizon: readable once it moves on.
              -- (Not named "xmin": that is also a system column of every table.) Asked as "the
              -- newest row's transaction", one backward index probe: as EXISTS over a range, a
              -- planner without statistics scans the whole log to find there is none.
              -- A reader of sparse types is held back by sparse rows only: its held_back is sparse_held_back.
              ${sparse ? 'null::boolean' : `coalesce((${NEWEST_XID}) >= s.horizon_xid, false)`} as held_back,
              coalesce((select assay_newest_sparse_xid()) >= s.horizon_xid, false) as sparse_held_back
         from (select pg_snapshot_xmin(pg_current_snapshot()) as horizon_xid) s
     ),
     scan as materialized (
       select w.* from horizon h cross join lateral ${sparse ? 'assay_sparse_log_window' : 'assay_log_window'}($1::xid8, $2::bigint, h.horizon_xid, $3::int) w
     ),
     scan_end as (
       select (select count(*)::int from scan) as scanned, l.transaction_id as xid, l.global_position as position
         from (select 1) one
         left join lateral (select transaction_id, global_position from scan order by transaction_id desc, global_position desc limit 1) l on true
     ),
     kept as (${kept})
     select h.horizon_xid::text as horizon, h.held_back, h.sparse_held_back, se.scanned, se.xid::text as scan_end_xid, se.position as scan_end_position, p.*
       from horizon h
       cross join scan_end se
       left join lateral (${budgetedPage}) p on true
      -- Qualified: unqualified, ORDER BY would pick the output column transaction_id::text and
      -- sort "1000" before "999", skipping events whenever transaction ids gain a digit.
      order by p.log_xid, p.global_position`,
    params,
  );
  const { horizon, held_back: anyHeldBack, sparse_held_back: sparseHeldBack, scanned, scan_end_xid: scanEndXid, scan_end_position: scanEndPosition } = rows[0];
  const heldBack = sparse ? sparseHeldBack : anyHeldBack!;
  const found = rows.filter((row) => row.event_id != null);
  const events = found.map((row) => toStoredEvent(row as StoredEventRow));
  const last = events.length > 0 ? positionOf(events[events.length - 1]) : after;
  // Cut by the budget once it is spent through the last row read (the next round finds out whether more follow).
  const cutByBytes = budgeted && found.length > 0 && Number(found[found.length - 1].bytes_through) >= maxBytes;
  if (events.length === limit || cutByBytes) return { events, position: last, horizon, heldBack, sparseHeldBack, full: true };
  // Fewer events than asked: every row of the window was looked at, so the reader moves past the
  // window's other rows too and does not scan them again. A full window may have more behind it.
  const position = scanEndXid === null ? last : { transactionId: scanEndXid, globalPosition: asSafeNumber(scanEndPosition!, 'global_position') };
  return { events, position, horizon, heldBack, sparseHeldBack, full: scanned === windowRows };
}

/** `data`, or for the types named, `data` without those keys (`jsonb - text[]`); parameters go into `params`. */
function dataWithout(omit: ReadAllOptions['omitFromData'], params: unknown[]): string {
  const cases = Object.entries(omit ?? {})
    .filter(([, keys]) => keys.length > 0)
    .map(([type, keys]) => `when $${params.push(type)} then data - $${params.push(keys)}::text[]`);
  return cases.length > 0 ? `case type ${cases.join(' ')} else data end` : 'data';
}

/** Orders positions as the log does: by transaction id (64-bit, so as BigInt), then global position. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.globalPosition - b.globalPosition;
}
