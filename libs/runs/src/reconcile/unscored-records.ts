import type { EventBus } from '@assay/bus';
import type { Sql } from '@assay/database';
import type { PostgresEventStore } from '@assay/event-store';

/**
 * JetStream is transport, PostgreSQL the record (design note 8): a message JetStream lost, or a
 * record whose last delivery could not even record its failure, would leave a record unscored and
 * its run SCORING (or ERROR, if another record failed) for ever. This sweep finds records still lacking an automatic outcome after
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
  // Only outcomes of each metric's current version and re-score round count (issue 4), and a
  // re-scored metric gets the same grace period from its re-score. A run in ERROR (one record failed
  // for good) may still lack outcomes of other records; it is looked at only while its counts say so,
  // so finished ERROR runs, which stay ERROR, cost the sweep nothing.
  const rows = await options.sql.query<{ seq: number }>(
    `with automatic as (
       select a.run_id, a.metric_id, a.metric_version, a.round, a.rescored_at
       from rm_runs u, jsonb_array_elements(u.metrics) as m, rm_run_metric_aggregates a
       where (u.status = 'SCORING'
              or (u.status = 'ERROR'
                  and u.num_scores - coalesce(u.num_human_scores, 0) + u.num_failures
                      < u.num_records * (u.num_metrics - coalesce(u.num_human_metrics, 0))))
         and m->>'evalType' <> 'HUMAN' and a.run_id = u.id and a.metric_id = m->>'metricId')
     select r.seq
     from rm_records r
     where r.run_id in (select run_id from automatic)
       and r.created_at < now() - make_interval(secs => $1::double precision / 1000)
       and exists (
         select 1 from automatic a
         where a.run_id = r.run_id
           and (a.rescored_at is null or a.rescored_at < now() - make_interval(secs => $1::double precision / 1000))
           and not exists (
             select 1 from rm_scores s
             where s.record_id = r.id and s.metric_id = a.metric_id and s.round = a.round
               and (a.metric_version is null or s.metric_version = a.metric_version)))
     order by r.seq
     limit $2`,
    [options.olderThanMs, options.limit ?? 1000],
  );
  if (rows.length === 0) return 0;
  const events = await options.store.readEventsAt(rows.map((row) => Number(row.seq)));
  await options.bus.publish(events);
  return events.length;
}
