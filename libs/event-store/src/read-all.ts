import { AssayError } from '@assay/contracts';
import type { Sql } from '@assay/database';
import { asSafeNumber, positionOf, STORED_EVENT_COLUMNS, StoredEventRow, toStoredEvent } from './stored-event-row';
import type { LogPosition, ReadAllOptions, ReadAllResult } from './types';

/** With a byte budget: each row's data size and the running total through it, in log order. */
const BUDGET_COLUMNS = `, assay_events.transaction_id as log_xid, pg_column_size(data) as data_bytes,
    sum(pg_column_size(data)) over (order by assay_events.transaction_id, assay_events.global_position rows unbounded preceding) as bytes_through`;

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
 */
export async function readAll(sql: Sql, options: ReadAllOptions): Promise<ReadAllResult> {
  const { after, limit, types, maxBytes } = options;
  if (!Number.isInteger(limit) || limit < 1) throw new AssayError('BAD_USER_INPUT', 'readAll limit must be a positive integer.');
  if (maxBytes !== undefined && !(maxBytes > 0)) throw new AssayError('BAD_USER_INPUT', 'readAll maxBytes must be positive.');
  const filtered = types !== undefined;
  const matchNothing = filtered && types.length === 0;
  const params: unknown[] = [after.transactionId, after.globalPosition, limit];
  const typeFilter = filtered ? `and type = any($${params.push(types)}::text[])` : '';
  const budgeted = maxBytes !== undefined;
  // The page: events after the position, below the horizon, in log order.
  const page = `
    select ${STORED_EVENT_COLUMNS}${budgeted ? BUDGET_COLUMNS : ''}
      from assay_events
     where (transaction_id, global_position) > ($1::xid8, $2::bigint)
       and transaction_id < h.horizon_xid
       ${typeFilter}
     -- Qualified: unqualified, ORDER BY would pick the output column transaction_id::text and
     -- sort "1000" before "999", skipping events whenever transaction ids gain a digit.
     order by assay_events.transaction_id, assay_events.global_position
     limit $3`;
  // With a byte budget, a row is read if the rows before it left some of the budget (so the first
  // row always is); bytes_through counts a row's own data too.
  const budgetedPage = budgeted
    ? `select * from (${page}) e where e.bytes_through - e.data_bytes < $${params.push(maxBytes)} order by e.log_xid, e.global_position`
    : page;

  // One statement, one snapshot: the horizon and the rows below it are read together. The left
  // join keeps the horizon row even when no event qualifies.
  const rows = await sql.query<{ horizon: string; held_back: boolean; bytes_through?: string } & Partial<StoredEventRow>>(
    `with horizon as (
       select s.horizon_xid,
              -- visible (committed) rows at or above the horizon: readable once it moves on.
              -- (Not named "xmin": that is also a system column of every table.)
              exists (select 1 from assay_events e where e.transaction_id >= s.horizon_xid) as held_back
         from (select pg_snapshot_xmin(pg_current_snapshot()) as horizon_xid) s
     )
     select h.horizon_xid::text as horizon, h.held_back, e.*
       from horizon h
       left join lateral (${budgetedPage}) e on ${matchNothing ? 'false' : 'true'}`,
    params,
  );
  const { horizon, held_back: heldBack } = rows[0];
  const found = rows.filter((row) => row.event_id != null);
  const events = found.map((row) => toStoredEvent(row as StoredEventRow));
  const last = events.length > 0 ? positionOf(events[events.length - 1]) : after;
  // Cut by the budget once it is spent through the last row read (the next round finds out whether more follow).
  const cutByBytes = budgeted && found.length > 0 && Number(found[found.length - 1].bytes_through) >= maxBytes;
  const full = events.length === limit || cutByBytes;
  if (!filtered || full) return { events, position: last, horizon, heldBack, full };

  // A filtered reader that got less than a full page has seen every matching row below the
  // horizon; move its position past the non-matching ones too, so it does not scan them again.
  // The horizon is passed in, not recomputed: rows below it are final, rows above it unread.
  return { events, position: await tailPosition(sql, last, horizon), horizon, heldBack, full };
}

/** The last row below `horizon`, or `from` if that is further on. */
async function tailPosition(sql: Sql, from: LogPosition, horizon: string): Promise<LogPosition> {
  const [row] = await sql.query<{ transaction_id: string; global_position: number }>(
    `select transaction_id::text as transaction_id, global_position
       from assay_events
      where transaction_id < $1::xid8
      order by assay_events.transaction_id desc, assay_events.global_position desc -- the xid8, not its text
      limit 1`,
    [horizon],
  );
  if (!row) return from;
  const tail = { transactionId: row.transaction_id, globalPosition: asSafeNumber(row.global_position, 'global_position') };
  return comparePositions(tail, from) > 0 ? tail : from;
}

/** Orders positions as the log does: by transaction id (64-bit, so as BigInt), then global position. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.globalPosition - b.globalPosition;
}
