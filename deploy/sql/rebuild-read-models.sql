-- Rebuilds the run read models (rm_projects, rm_metrics, rm_runs, rm_records, rm_scores,
-- rm_run_metric_aggregates) from the event log: empties them and deletes the projector's
-- checkpoint ("read-models") in one transaction, under the projector's advisory lock. The runs
-- service may keep running: the lock waits for a round in progress and keeps the next one out
-- until COMMIT; the projector then starts again from the beginning of the log.
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/sql/rebuild-read-models.sql
--
-- Until it has caught up, queries show partial data and createRun / updateRunNotes may answer
-- UNAVAILABLE ("saved but not visible yet"). Watch progress with status.sql.
-- Other projectors own other tables (rm_api_keys belongs to "access-read-models"): truncate a
-- table only together with the checkpoint of the projector that fills it.
begin;
-- 1095981314 = 0x41535902, @assay/database's namespace for log-processor locks; the second key is
-- the first 4 bytes of sha256(name) as a signed int, as advisoryLockKey() computes it.
select pg_advisory_xact_lock(1095981314, ('x' || left(encode(sha256(convert_to('read-models', 'UTF8')), 'hex'), 8))::bit(32)::int);
truncate rm_projects, rm_metrics, rm_runs, rm_records, rm_scores, rm_run_metric_aggregates;
delete from assay_checkpoints where name = 'read-models';
commit;
