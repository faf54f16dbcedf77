-- Moves the relay back so that it publishes the log to JetStream again from the first record that
-- still lacks an outcome (in a SCORING or ERROR run). Use it when JetStream lost messages (its
-- data was wiped, the stream was deleted) or to hurry what the reconciler would do slowly.
-- Everything after that point is published again: scoring is idempotent (the first outcome per
-- record and metric stands), so already scored records cost a no-op each, never a second score.
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/sql/republish-unscored.sql
--
-- It needs the read models to be complete (status.sql: "read-models" has events_after near 0).
begin;
select pg_advisory_xact_lock(1095981314, ('x' || left(encode(sha256(convert_to('relay', 'UTF8')), 'hex'), 8))::bit(32)::int);
-- Metrics scored by people (HUMAN) are not the workers' to fill in: only automatic ones count,
-- as in the runs service's reconciler.
with automatic as (
  select u.id as run_id, array_agg(m->>'metricId') as metric_ids
    from rm_runs u, jsonb_array_elements(u.metrics) as m
   where u.status in ('SCORING', 'ERROR') and m->>'evalType' <> 'HUMAN'
   group by u.id),
first_unscored as (
  select e.transaction_id, e.global_position
    from automatic a
    join rm_records rec on rec.run_id = a.run_id
    join assay_events e on e.global_position = rec.seq          -- rm_records.seq is the RecordAdded position
   where (select count(*) from rm_scores s
           where s.record_id = rec.id and s.metric_id = any(a.metric_ids)) < cardinality(a.metric_ids)
   order by e.transaction_id, e.global_position
   limit 1)
update assay_checkpoints c
   -- The relay reads strictly after its checkpoint: one position before the record's event.
   set transaction_id = f.transaction_id, global_position = f.global_position - 1, updated_at = clock_timestamp()
  from first_unscored f
 where c.name = 'relay'
   and (c.transaction_id, c.global_position) > (f.transaction_id, f.global_position - 1)  -- only ever backwards
returning c.name, c.transaction_id, c.global_position;
commit;
