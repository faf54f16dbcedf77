import type { EventData, MetricSnapshot } from '@assay/contracts';
import type { Sql } from '@assay/database';
import { runStatus, runStreamId } from '@assay/domain';
import type { StoredEvent } from '@assay/event-store';
import type { RunView } from '../types';
import { runColumns, runProgress, toRunView, RunRow } from './run-rows';
import { projectMetrics } from './metric-projector';
import { projectHumanReview } from '../review/review-projector';
import { outcomeRow, projectOutcomes, projectRescores, projectSystemCosts } from './scoring-projection';

/**
 * The payload of a RecordAdded: the projector copies it into rm_records in SQL, so it reads
 * RecordAdded without it (a record may be hundreds of KB; its text need not cross to Node and back).
 */
export const RECORD_PAYLOAD_KEYS = ['inputs', 'outputs', 'expected'] as const;

/**
 * Folds a batch of events from the global log into the read models, in the caller's transaction
 * (the log processor commits the checkpoint with it, so each event is applied exactly once).
 * Work is grouped by table: a batch of 1,000 RecordAdded events is one INSERT, not 1,000.
 * Returns the runs the batch changed, as they now are, for the live-status broadcast.
 */
export async function projectRuns(events: readonly StoredEvent[], tx: Sql): Promise<RunView[]> {
  const batch = groupByTable(events);
  if (batch.projects.length) {
    await tx.query(
      `insert into rm_projects (id, name, created_at)
       select id, name, created_at from jsonb_to_recordset($1::jsonb) as x(id text, name text, created_at timestamptz)
       on conflict do nothing`,
      [JSON.stringify(batch.projects)],
    );
  }
  await projectMetrics(events, tx);
  if (batch.runs.length) {
    await tx.query(
      `insert into rm_runs (id, project_id, notes, metrics, num_metrics, status, stream_version, created_at, updated_at, last_event_at,
                            testset_id, num_expected_records, system_version_id, source, trials)
       select id, project_id, notes, metrics, jsonb_array_length(metrics), 'PENDING', 0, created_at, now(), created_at,
              testset_id, num_expected_records, system_version_id, coalesce(source, 'API'), trials
       from jsonb_to_recordset($1::jsonb) as x(id text, project_id text, notes text, metrics jsonb, created_at timestamptz,
            testset_id text, num_expected_records int, system_version_id text, source text, trials int)
       on conflict do nothing`,
      [JSON.stringify(batch.runs)],
    );
    await tx.query(
      `insert into rm_run_metric_aggregates (run_id, metric_id)
       select x.id, m->>'metricId' from jsonb_to_recordset($1::jsonb) as x(id text, metrics jsonb),
            jsonb_array_elements(x.metrics) as m
       on conflict do nothing`,
      [JSON.stringify(batch.runs)],
    );
  }
  if (batch.records.length) {
    // The payloads are copied from the log in SQL, by position (seq): they never travel to this
    // process and back (the projector reads RecordAdded without them: RECORD_PAYLOAD_KEYS).
    // Counts move only by the rows actually inserted, so a replayed event cannot count twice.
    await tx.query(
      `with inserted as (
         insert into rm_records (id, run_id, seq, testcase_id, inputs, outputs, expected, created_at, trial, execution)
         select x.id, x.run_id, x.seq, x.testcase_id,
                -- A JSON null is stored as SQL NULL, as it always was.
                nullif(e.data->'inputs', 'null'), nullif(e.data->'outputs', 'null'), nullif(e.data->'expected', 'null'),
                x.created_at, x.trial, x.execution
         from jsonb_to_recordset($1::jsonb) as x(id text, run_id text, seq bigint, testcase_id text, created_at timestamptz, trial int, execution jsonb)
         cross join lateral (select data from assay_events where global_position = x.seq limit 1) e
         on conflict do nothing
         returning run_id)
       update rm_runs r set num_records = r.num_records + c.n
       from (select run_id, count(*) as n from inserted group by run_id) c
       where r.id = c.run_id`,
      [JSON.stringify(batch.records)],
    );
  }
  // Re-scoring, outcomes (the current version and round of each metric count) and cost (issue 4).
  await projectRescores(events, tx);
  await projectOutcomes(batch.outcomes, tx);
  await projectSystemCosts(events, tx);
  if (batch.executionFailures.length) {
    // Executions that failed for good (issue 4): the run shows ERROR with each reason. Counted by the rows inserted.
    await tx.query(
      `with inserted as (
         insert into rm_execution_failures (record_id, run_id, testcase_id, trial, code, reason, attempts, created_at)
         select record_id, run_id, testcase_id, trial, code, reason, attempts, created_at
         from jsonb_to_recordset($1::jsonb) as x(record_id text, run_id text, testcase_id text, trial int, code text, reason text,
              attempts int, created_at timestamptz)
         on conflict do nothing
         returning run_id)
       update rm_runs r set num_execution_failures = r.num_execution_failures + c.n
       from (select run_id, count(*) as n from inserted group by run_id) c
       where r.id = c.run_id`,
      [JSON.stringify(batch.executionFailures)],
    );
  }
  // Human review (issue 4): HUMAN metric counts, the review queue, human scores and their corrections.
  await projectHumanReview(events, tx);
  for (const [runId, notes] of batch.notes) {
    await tx.query('update rm_runs set notes = $2 where id = $1', [runId, notes]);
  }
  return touchRuns(batch.touched, tx);
}

interface Touch {
  streamVersion: number;
  lastEventAt: string;
  /** Events of the batch that touched the run: its revision moves by as many. */
  events: number;
}

/** Bumps version, revision and times of every run the batch changed, then settles each one's status. */
async function touchRuns(touched: Map<string, Touch>, tx: Sql): Promise<RunView[]> {
  if (touched.size === 0) return [];
  const rows = await tx.query<RunRow>(
    `update rm_runs r
     set stream_version = greatest(r.stream_version, x.stream_version),
         last_event_at = greatest(r.last_event_at, x.last_event_at),
         revision = r.revision + x.events,
         updated_at = now()
     from jsonb_to_recordset($1::jsonb) as x(id text, stream_version int, last_event_at timestamptz, events int)
     where r.id = x.id
     returning ${runColumns('r')}`,
    [JSON.stringify([...touched].map(([id, t]) => ({ id, stream_version: t.streamVersion, last_event_at: t.lastEventAt, events: t.events })))],
  );
  const changed: { id: string; status: string }[] = [];
  const views = rows.map((row) => {
    const status = runStatus(runProgress(row));
    if (status !== row.status) changed.push({ id: row.id, status });
    return toRunView({ ...row, status });
  });
  if (changed.length) {
    await tx.query(
      `update rm_runs r set status = x.status from jsonb_to_recordset($1::jsonb) as x(id text, status text) where r.id = x.id`,
      [JSON.stringify(changed)],
    );
  }
  return views;
}

function groupByTable(events: readonly StoredEvent[]) {
  const projects: object[] = [];
  const runs: object[] = [];
  const records: object[] = [];
  const outcomes: object[] = [];
  const executionFailures: object[] = [];
  const notes = new Map<string, string>();
  const touched = new Map<string, Touch>();
  const touch = (runId: string, event: StoredEvent, inRunStream: boolean) => {
    const current = touched.get(runId) ?? { streamVersion: 0, lastEventAt: event.createdAt.toISOString(), events: 0 };
    current.events++;
    if (inRunStream) current.streamVersion = Math.max(current.streamVersion, event.streamPosition);
    if (event.createdAt.toISOString() > current.lastEventAt) current.lastEventAt = event.createdAt.toISOString();
    touched.set(runId, current);
  };
  const createdAt = (event: StoredEvent) => event.createdAt.toISOString();

  for (const event of events) {
    switch (event.type) {
      case 'ProjectCreated': {
        const data = event.data as EventData<'ProjectCreated'>;
        projects.push({ id: data.projectId, name: data.name, created_at: createdAt(event) });
        break;
      }
      case 'RunCreated': {
        const data = event.data as EventData<'RunCreated'>;
        runs.push({
          id: data.runId,
          project_id: data.projectId,
          notes: data.notes,
          metrics: data.metrics satisfies MetricSnapshot[],
          created_at: createdAt(event),
          testset_id: data.testsetId ?? null,
          num_expected_records: data.numExpectedRecords ?? null,
          system_version_id: data.systemVersionId ?? null,
          source: data.source ?? 'API',
          trials: data.trials ?? null,
        });
        touch(data.runId, event, true);
        break;
      }
      case 'RecordAdded': {
        const data = event.data as EventData<'RecordAdded'>;
        records.push({
          id: data.recordId,
          run_id: data.runId,
          seq: event.globalPosition,
          testcase_id: data.testcaseId,
          created_at: createdAt(event),
          trial: data.trial ?? null,
          execution: data.execution ?? null,
        });
        // Executed records live on streams of their own (execution-<recordId>), not the run's.
        touch(data.runId, event, event.streamId === runStreamId(data.runId));
        break;
      }
      case 'ScoreRecorded':
      case 'ScoringFailed': {
        const data = event.data as EventData<'ScoreRecorded'> | EventData<'ScoringFailed'>;
        outcomes.push(outcomeRow(event));
        touch(data.runId, event, false);
        break;
      }
      case 'RunRescoreRequested': {
        // Projected by projectRescores; the run is touched (its metrics, counts and status change).
        touch((event.data as EventData<'RunRescoreRequested'>).runId, event, false);
        break;
      }
      case 'RecordRescoreRequested': {
        // On the run stream: rescoreRun waits for the run view to reach it.
        touch((event.data as EventData<'RecordRescoreRequested'>).runId, event, true);
        break;
      }
      case 'ExecutionFailed': {
        const data = event.data as EventData<'ExecutionFailed'>;
        executionFailures.push({
          record_id: data.recordId,
          run_id: data.runId,
          testcase_id: data.testcaseId,
          trial: data.trial,
          code: data.code,
          reason: data.reason,
          attempts: data.attempts,
          created_at: createdAt(event),
        });
        touch(data.runId, event, false);
        break;
      }
      case 'HumanScoreCorrected': {
        // The score itself is projectHumanReview's; here the run is touched (pushed, updatedAt).
        touch((event.data as EventData<'HumanScoreCorrected'>).runId, event, false);
        break;
      }
      case 'RunNotesUpdated': {
        const data = event.data as EventData<'RunNotesUpdated'>;
        notes.set(data.runId, data.notes);
        touch(data.runId, event, true);
        break;
      }
    }
  }
  return { projects, runs, records, outcomes, executionFailures, notes, touched };
}
