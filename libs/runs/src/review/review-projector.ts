import type { EventData } from '@assay/contracts';
import type { Sql } from '@assay/database';
import type { StoredEvent } from '@assay/event-store';

/**
 * Human review's part of the runs projection (issue 4), run by `projectRuns` in its transaction
 * after it has inserted the batch's runs, records and outcomes, and before it settles the runs'
 * status. Every step is idempotent, so a replayed event changes nothing:
 *
 * - runs count their HUMAN metrics (`num_human_metrics`);
 * - a record of a run with HUMAN metrics enters `rm_review_queue` once per HUMAN metric;
 * - a human ScoreRecorded (already in rm_scores as an outcome) is marked HUMAN with who scored it,
 *   counted in `num_human_scores` and leaves the queue;
 * - a HumanScoreCorrected replaces the score and moves the aggregates by the difference (only
 *   corrections newer than the row's `stream_position` apply: the last one per score wins).
 */
export async function projectHumanReview(events: readonly StoredEvent[], tx: Sql): Promise<void> {
  const runsWithHumanMetrics: { id: string; n: number }[] = [];
  const recordIds: string[] = [];
  const recordRunIds = new Set<string>();
  const humanScores: object[] = [];
  const corrections = new Map<string, Record<string, unknown>>();
  for (const event of events) {
    switch (event.type) {
      case 'RunCreated': {
        const data = event.data as EventData<'RunCreated'>;
        const n = data.metrics.filter((m) => m.evalType === 'HUMAN').length;
        if (n > 0) runsWithHumanMetrics.push({ id: data.runId, n });
        break;
      }
      case 'RecordAdded': {
        const data = event.data as EventData<'RecordAdded'>;
        recordIds.push(data.recordId);
        recordRunIds.add(data.runId);
        break;
      }
      case 'ScoreRecorded': {
        const data = event.data as EventData<'ScoreRecorded'>;
        if (data.source !== 'HUMAN') break;
        humanScores.push({
          record_id: data.recordId,
          metric_id: data.metricId,
          metric_version: data.metricVersion,
          scored_by: data.scoredBy ?? null,
          stream_position: event.streamPosition,
        });
        break;
      }
      case 'HumanScoreCorrected': {
        const data = event.data as EventData<'HumanScoreCorrected'>;
        // Several corrections of one score in a batch: the last one is the score.
        corrections.set(`${data.recordId}\u0000${data.metricId}\u0000${data.metricVersion}`, {
          record_id: data.recordId,
          metric_id: data.metricId,
          metric_version: data.metricVersion,
          value: data.value,
          passed: data.passed,
          reasoning: data.reasoning,
          corrected_by: data.correctedBy,
          stream_position: event.streamPosition,
          corrected_at: event.createdAt.toISOString(),
        });
        break;
      }
    }
  }

  if (runsWithHumanMetrics.length) {
    await tx.query(
      `update rm_runs u set num_human_metrics = x.n from jsonb_to_recordset($1::jsonb) as x(id text, n int) where u.id = x.id`,
      [JSON.stringify(runsWithHumanMetrics)],
    );
  }
  if (recordIds.length) {
    await tx.query(
      `insert into rm_review_queue (metric_id, record_id, project_id, run_id, seq)
       select m->>'metricId', r.id, u.project_id, u.id, r.seq
       from rm_runs u cross join lateral jsonb_array_elements(u.metrics) as m
            join rm_records r on r.run_id = u.id and r.id = any($1::text[])
       where u.id = any($2::text[]) and u.num_human_metrics > 0 and m->>'evalType' = 'HUMAN'
         and not exists (select 1 from rm_scores s where s.record_id = r.id and s.metric_id = m->>'metricId' and s.source = 'HUMAN')
       on conflict do nothing`,
      [recordIds, [...recordRunIds]],
    );
  }
  if (humanScores.length) {
    await tx.query(
      `with x as (
         select * from jsonb_to_recordset($1::jsonb) as x(record_id text, metric_id text, metric_version int, scored_by text, stream_position int)),
       marked as (
         update rm_scores s set source = 'HUMAN', scored_by = x.scored_by, stream_position = x.stream_position
         from x
         where s.record_id = x.record_id and s.metric_id = x.metric_id and s.metric_version = x.metric_version and s.source <> 'HUMAN'
         returning s.run_id, s.record_id, s.metric_id),
       dequeued as (
         delete from rm_review_queue q using marked m where q.metric_id = m.metric_id and q.record_id = m.record_id)
       update rm_runs r set num_human_scores = r.num_human_scores + c.n
       from (select run_id, count(*)::int as n from marked group by run_id) c
       where r.id = c.run_id`,
      [JSON.stringify(humanScores)],
    );
  }
  if (corrections.size) {
    await tx.query(
      `with x as (
         select * from jsonb_to_recordset($1::jsonb) as x(record_id text, metric_id text, metric_version int, value double precision,
              passed boolean, reasoning text, corrected_by text, stream_position int, corrected_at timestamptz)),
       previous as (
         select s.run_id, s.metric_id, s.value as old_value, s.passed as old_passed, x.value, x.passed
         from rm_scores s join x on s.record_id = x.record_id and s.metric_id = x.metric_id and s.metric_version = x.metric_version
         where s.error_code is null and coalesce(s.stream_position, 0) < x.stream_position),
       corrected as (
         update rm_scores s
         set value = x.value, passed = x.passed, reasoning = x.reasoning, scored_by = x.corrected_by,
             stream_position = x.stream_position, updated_at = x.corrected_at
         from x
         where s.record_id = x.record_id and s.metric_id = x.metric_id and s.metric_version = x.metric_version
           and s.error_code is null and coalesce(s.stream_position, 0) < x.stream_position),
       difference as (
         select run_id, metric_id, sum(value - old_value) as sum, sum(passed::int - old_passed::int) as passed
         from previous group by run_id, metric_id)
       update rm_run_metric_aggregates a set sum = a.sum + d.sum, passed = a.passed + d.passed
       from difference d
       where a.run_id = d.run_id and a.metric_id = d.metric_id`,
      [JSON.stringify([...corrections.values()])],
    );
  }
}
