import { Migration } from '@mikro-orm/migrations';

/**
 * Two reads whose only good plan is an index scan, as functions that rule the others out.
 *
 * A planner without statistics on assay_events (a new deployment whose log grows faster than
 * autovacuum analyses it, or autovacuum off) guesses: it expected a few rows in a range of the
 * log and fetched every row up to the horizon by bitmap to sort them, and it scanned the whole
 * log to find the events of 1,000 record streams. Either made a read cost the size of the log.
 * A function's SET clauses hold for the query inside it only, so the rest of the caller's
 * transaction plans as usual. read-cost.spec.ts counts the rows each read touches.
 */
export class Migration20261125ReadPlans extends Migration {
  override async up(): Promise<void> {
    // The next rows of the global log after a position and below a horizon, in log order: the
    // ordered index scan on assay_events_transaction_order, stopping after max_rows. Positions and
    // types only: readAll fetches the rows it keeps by primary key, so no payload is held for
    // rows a filtered reader skips.
    this.addSql(`
      create function assay_log_window(after_xid xid8, after_position bigint, horizon xid8, max_rows int)
        returns table (transaction_id xid8, global_position bigint, type text)
        language sql stable
        set enable_bitmapscan = off
        set enable_sort = off
      as $$
        select e.transaction_id, e.global_position, e.type
          from assay_events e
         where (e.transaction_id, e.global_position) > (after_xid, after_position)
           and e.transaction_id < horizon
         order by e.transaction_id, e.global_position
         limit max_rows
      $$`);
    this.addSql(
      `comment on function assay_log_window(xid8, bigint, xid8, int) is 'Next rows of the global log after a position and below a horizon, in log order, by the ordered index scan whatever the statistics.'`,
    );
    // Every event of some streams (record, execution, metric streams: a handful of events each),
    // by one index scan on (stream_id, stream_position).
    this.addSql(`
      create function assay_stream_events(stream_ids text[])
        returns setof assay_events
        language sql stable
        set enable_seqscan = off
        set enable_bitmapscan = off
      as $$
        select * from assay_events where stream_id = any(stream_ids)
      $$`);
    this.addSql(`comment on function assay_stream_events(text[]) is 'Every event of the given streams, by index scan whatever the statistics. Meant for small streams.'`);
  }

  override async down(): Promise<void> {
    this.addSql('drop function if exists assay_stream_events(text[])');
    this.addSql('drop function if exists assay_log_window(xid8, bigint, xid8, int)');
  }
}
