-- Compares the run read models with the event log, type by type. Read-only, but it scans the
-- whole log: run it off-peak. Every "missing" should be 0 once the "read-models" checkpoint has
-- caught up (status.sql). Anything else means the projector skipped events: rebuild the read
-- models (rebuild-read-models.sql), then, if records lack scores, republish-unscored.sql.
--
--   psql "$DATABASE_URL" -f deploy/sql/verify-read-models.sql
select 'ProjectCreated' as event_type, count(*) as in_log,
       count(*) filter (where not exists (select 1 from rm_projects p where p.id = e.data->>'projectId')) as missing
  from assay_events e where e.type = 'ProjectCreated'
union all
select 'MetricCreated', count(*),
       count(*) filter (where not exists (select 1 from rm_metrics m where m.id = e.data->>'metricId'))
  from assay_events e where e.type = 'MetricCreated'
union all
select 'RunCreated', count(*),
       count(*) filter (where not exists (select 1 from rm_runs r where r.id = e.data->>'runId'))
  from assay_events e where e.type = 'RunCreated'
union all
select 'RecordAdded', count(*),
       count(*) filter (where not exists (select 1 from rm_records r where r.id = e.data->>'recordId'))
  from assay_events e where e.type = 'RecordAdded'
union all
select e.type, count(*),
       count(*) filter (where not exists (select 1 from rm_scores s
                                            where s.record_id = e.data->>'recordId'
                                              and s.metric_id = e.data->>'metricId'))
  from assay_events e where e.type in ('ScoreRecorded', 'ScoringFailed')
 group by e.type;
