-- Where the pipeline stands. Read-only; safe at any time.
--   psql "$DATABASE_URL" -f deploy/sql/status.sql
\pset footer off

\echo '== Log processors: checkpoint vs. end of the log (events still to handle)'
select c.name,
       c.transaction_id,
       c.global_position,
       now() - c.updated_at as since_last_save,
       (select count(*) from assay_events e
         where (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)) as events_after
  from assay_checkpoints c
 order by c.name;
-- A checkpoint is saved only when a round reads something, so an idle system shows a large
-- since_last_save with events_after = 0: that is fine. events_after that stays > 0 is not.

\echo '== Transactions holding the log horizon back (hold a transaction id), oldest first'
-- Any database on this server counts: readers only read below the oldest open transaction id.
select pid, datname, usename, application_name, state, backend_xid,
       now() - xact_start as open_for, left(query, 80) as query
  from pg_stat_activity
 where backend_xid is not null
 order by xact_start
 limit 10;
select gid, prepared, owner, database from pg_prepared_xacts;

\echo '== Runs not finished (PENDING, SCORING), least recently active first'
select r.id as run_id, r.status, r.num_records, r.num_scores, r.num_failures, r.num_metrics,
       now() - r.last_event_at as since_last_event
  from rm_runs r
 where r.status in ('PENDING', 'SCORING')
 order by r.last_event_at
 limit 20;
