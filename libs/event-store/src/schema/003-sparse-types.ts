import { Migration } from '@mikro-orm/migrations';

/**
 * The event types that come once or more per record (records, their scores, re-score requests):
 * nearly the whole log. Every other type (projects, metrics, runs, API keys, testsets, systems,
 * executions scheduled…) is "sparse": a few events per user action.
 *
 * Frozen with this migration: the index below holds exactly the rows whose type is not listed, and
 * readAll may use it only for readers none of whose types is listed. A later change to the list
 * is a new migration that rebuilds the index, together with the constant readAll uses.
 */
export const DENSE_EVENT_TYPES = ['RecordAdded', 'ScoreRecorded', 'ScoringFailed', 'RecordRescoreRequested'] as const;

/** Whether events of this type are per record (so not in the sparse index). */
export const isDenseEventType = (type: string): boolean => (DENSE_EVENT_TYPES as readonly string[]).includes(type);

/** The predicate of the sparse index, word for word as readAll's reads must state it for PostgreSQL to use the index. */
export const SPARSE_PREDICATE = `type not in (${DENSE_EVENT_TYPES.map((type) => `'${type}'`).join(', ')})`;

/**
 * Readers of sparse types (the API-key, testset and system read models; the execution consumer of
 * the embedded process) walked past every record and score in the log to find their few events:
 * a read cost up to SCAN_WINDOW rows, and a round came every 25 ms whenever any event was held
 * back behind an open transaction, which on a busy log is most of the time. A partial index of
 * the sparse rows, in log order, gives them a log of their own types' size. Appends of dense types
 * do not touch it, so the hot path pays nothing.
 */
export class Migration20261125SparseTypes extends Migration {
  override async up(): Promise<void> {
    // "if not exists": on a large log an operator may build it first, CONCURRENTLY (docs/operations.md, Upgrades).
    this.addSql(`create index if not exists assay_events_sparse_order on assay_events (transaction_id, global_position) where ${SPARSE_PREDICATE}`);
    this.addSql(`comment on index assay_events_sparse_order is 'The global log without the per-record event types: what readers of other types scan (see assay_sparse_log_window).'`);
    // assay_log_window's twin over that index (same columns, same order, same stopping rule).
    this.addSql(`
      create function assay_sparse_log_window(after_xid xid8, after_position bigint, horizon xid8, max_rows int)
        returns table (transaction_id xid8, global_position bigint, type text)
        language sql stable
        set enable_bitmapscan = off
        set enable_sort = off
        set enable_seqscan = off
      as $$
        select e.transaction_id, e.global_position, e.type
          from assay_events e
         where (e.transaction_id, e.global_position) > (after_xid, after_position)
           and e.transaction_id < horizon
           and e.${SPARSE_PREDICATE}
         order by e.transaction_id, e.global_position
         limit max_rows
      $$`);
    this.addSql(
      `comment on function assay_sparse_log_window(xid8, bigint, xid8, int) is 'Next rows of the global log of sparse types (not per record) after a position and below a horizon, in log order, by the sparse index.'`,
    );
    // The newest sparse row's transaction: "are events of sparse types held back?", one backward probe.
    this.addSql(`
      create function assay_newest_sparse_xid() returns xid8
        language sql stable
        set enable_bitmapscan = off
        set enable_sort = off
        set enable_seqscan = off
      as $$
        select e.transaction_id from assay_events e where e.${SPARSE_PREDICATE}
         order by e.transaction_id desc, e.global_position desc limit 1
      $$`);
  }

  override async down(): Promise<void> {
    this.addSql('drop function if exists assay_newest_sparse_xid()');
    this.addSql('drop function if exists assay_sparse_log_window(xid8, bigint, xid8, int)');
    this.addSql('drop index if exists assay_events_sparse_order');
  }
}
