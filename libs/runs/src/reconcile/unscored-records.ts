import type { EventBus } from '@assay/bus';
import type { Sql } from '@assay/database';
import type { PostgresEventStore } from '@assay/event-store';

/**
 * JetStream is transport, PostgreSQL the record (design note 8): a message JetStream lost, or a
 * record whose last delivery could not even record its failure, would leave a record unscored and
 * its run SCORING for ever. This sweep finds records still lacking an automatic outcome after
 * `olderThanMs` and publishes their RecordAdded again. Scoring is idempotent per (record, metric
 * version), so a record that was merely slow costs a no-op, never a second score.
 */
export interface ReconcileOptions {
  readonly sql: Sql;
  readonly store: PostgresEventStore;
  readonly bus: Pick<EventBus, 'publish'>;
  /** Records younger than this are left to the normal path. */
  readonly olderThanMs: number;
  /** Most records republished per sweep. */
  readonly limit?: number;
}

/** Returns how many records were published again. */
export async function republishUnscoredRecords(options: ReconcileOptions): Promise<number> {
  // Metrics scored by a person (HUMAN) are not the workers' to fill in: they do not count here.
  const rows = await options.sql.query<{ seq: number }>(
    `with automatic as (
       select u.id as run_id, array_agg(m->>'metricId') as metric_ids
       from rm_runs u, jsonb_array_elements(u.metrics) as m
       where u.status = 'SCORING' and m->>'evalType' <> 'HUMAN'
       group by u.id)
     select r.seq
     from automatic a join rm_records r on r.run_id = a.run_id
     where r.created_at < now() - make_interval(secs => $1::double precision / 1000)
       and (select count(*) from rm_scores s where s.record_id = r.id and s.metric_id = any(a.metric_ids)) < cardinality(a.metric_ids)
     order by r.seq
     limit $2`,
    [options.olderThanMs, options.limit ?? 1000],
  );
  if (rows.length === 0) return 0;
  const events = await options.store.readEventsAt(rows.map((row) => Number(row.seq)));
  await options.bus.publish(events);
  return events.length;
}
