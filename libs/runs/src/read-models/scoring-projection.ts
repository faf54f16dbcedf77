import type { EventData } from '@assay/contracts';
import type { Sql } from '@assay/database';
import type { StoredEvent } from '@assay/event-store';

/**
 * Outcomes, re-scoring and judge cost in the runs read models (issue 4), run by `projectRuns` in
 * its transaction.
 *
 * - `rm_scores` holds one row per (record, metric version): the outcome of the highest round
 *   recorded (a re-score of the same version replaces the row; a human score is never replaced).
 * - `rm_run_metric_aggregates` counts, per run and metric, only outcomes of the metric's current
 *   version and round (`metric_version` null: the version the run pinned at creation, round 0).
 *   A RunRescoreRequested moves a metric to its new version and round and starts its counts at
 *   zero (the round is new, so no outcome of it exists yet); `rm_runs.metrics` shows the new
 *   snapshots, and num_scores/num_failures follow, so status and phase reflect the latest version.
 * - Judge tokens and cost add up per run and metric from every outcome recorded (what was spent,
 *   superseded rounds included); system calls' from RecordAdded.execution (see the records insert).
 */

/** One ScoreRecorded or ScoringFailed as the outcomes statement takes it (see `outcomeRow`). */
export type OutcomeRow = object;

/** The columns of an outcome row, from ScoreRecorded or ScoringFailed data. */
export function outcomeRow(event: StoredEvent): OutcomeRow {
  const data = event.data as EventData<'ScoreRecorded'> | EventData<'ScoringFailed'>;
  const failed = event.type === 'ScoringFailed';
  const judge = data.judge;
  return {
    record_id: data.recordId,
    metric_id: data.metricId,
    metric_version: data.metricVersion,
    run_id: data.runId,
    round: data.round ?? 0,
    value: failed ? null : (data as EventData<'ScoreRecorded'>).value,
    passed: failed ? null : (data as EventData<'ScoreRecorded'>).passed,
    reasoning: failed ? null : (data as EventData<'ScoreRecorded'>).reasoning,
    error_code: failed ? (data as EventData<'ScoringFailed'>).code : null,
    error_reason: failed ? (data as EventData<'ScoringFailed'>).reason : null,
    created_at: event.createdAt.toISOString(),
    judge_model: judge?.model ?? null,
    prompt_tokens: judge?.tokens.prompt ?? null,
    completion_tokens: judge?.tokens.completion ?? null,
    cost: judge?.cost ?? null,
    cached: judge?.cached ?? null,
    // Log order within the batch: of two outcomes of one key and round, the later one is kept.
    seq: event.globalPosition,
  };
}

/** RunRescoreRequested: the metrics' new versions and rounds (before the batch's outcomes are counted). */
export async function projectRescores(events: readonly StoredEvent[], tx: Sql): Promise<void> {
  const rescores = events
    .filter((event) => event.type === 'RunRescoreRequested')
    .map((event) => {
      const data = event.data as EventData<'RunRescoreRequested'>;
      return { run_id: data.runId, round: data.round, metrics: data.metrics, at: event.createdAt.toISOString() };
    });
  if (rescores.length === 0) return;
  await tx.query(
    `with x as (select * from jsonb_to_recordset($1::jsonb) as x(run_id text, round int, metrics jsonb, at timestamptz)),
     pins as (
       select distinct on (x.run_id, m->>'metricId') x.run_id, x.round, x.at, m->>'metricId' as metric_id, (m->>'version')::int as version, m as snapshot
       from x, jsonb_array_elements(x.metrics) as m
       order by x.run_id, m->>'metricId', x.round desc),
     aggregates as (
       update rm_run_metric_aggregates a
       set metric_version = p.version, round = p.round, rescored_at = p.at, count = 0, passed = 0, failed = 0, sum = 0
       from pins p
       where a.run_id = p.run_id and a.metric_id = p.metric_id and a.round < p.round)
     update rm_runs r
     set metrics = (
       select jsonb_agg(coalesce(p.snapshot, t.m) order by t.ord)
       from jsonb_array_elements(r.metrics) with ordinality as t(m, ord)
       left join pins p on p.run_id = r.id and p.metric_id = t.m->>'metricId')
     where r.id in (select run_id from x)`,
    [JSON.stringify(rescores)],
  );
  // Counts follow the aggregates (num_scores is the sum of the counts, human scores included).
  await tx.query(
    `update rm_runs r set num_scores = s.scores, num_failures = s.failures
     from (select run_id, sum(count)::int as scores, sum(failed)::int as failures
           from rm_run_metric_aggregates where run_id = any($1::text[]) group by run_id) s
     where r.id = s.run_id`,
    [[...new Set(rescores.map((r) => r.run_id))]],
  );
}

/**
 * Stores outcomes and moves the counts: a new row counts where it is its metric's current version
 * and round, and a row it replaced stops counting where it did. Judge tokens and cost of every
 * outcome are added up. One statement.
 */
export async function projectOutcomes(outcomes: readonly OutcomeRow[], tx: Sql): Promise<void> {
  if (outcomes.length === 0) return;
  await tx.query(
    `with x as (
       select * from jsonb_to_recordset($1::jsonb) as x(record_id text, metric_id text, metric_version int, run_id text, round int,
            value double precision, passed boolean, reasoning text, error_code text, error_reason text, created_at timestamptz,
            judge_model text, prompt_tokens int, completion_tokens int, cost double precision, cached boolean, seq bigint)),
     latest as (
       select distinct on (record_id, metric_id, metric_version) *
       from x order by record_id, metric_id, metric_version, round desc, seq desc),
     old as (
       select s.record_id, s.metric_id, s.metric_version, s.round, s.value, s.passed, s.error_code
       from rm_scores s join latest l using (record_id, metric_id, metric_version)),
     upserted as (
       insert into rm_scores as s (record_id, metric_id, metric_version, run_id, round, value, passed, reasoning, error_code, error_reason,
                                   created_at, judge_model, prompt_tokens, completion_tokens, cost, cached)
       select record_id, metric_id, metric_version, run_id, round, value, passed, reasoning, error_code, error_reason,
              created_at, judge_model, prompt_tokens, completion_tokens, cost, cached
       from latest
       on conflict (record_id, metric_id, metric_version) do update
       set round = excluded.round, value = excluded.value, passed = excluded.passed, reasoning = excluded.reasoning,
           error_code = excluded.error_code, error_reason = excluded.error_reason, created_at = excluded.created_at,
           judge_model = excluded.judge_model, prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
           cost = excluded.cost, cached = excluded.cached
       where excluded.round > s.round and s.source <> 'HUMAN'
       returning s.record_id, s.metric_id, s.metric_version, s.run_id, s.round, s.value, s.passed, s.error_code),
     contributions as (
       select u.run_id, u.metric_id, 1 as sign, u.value, u.passed, u.error_code
       from upserted u join rm_run_metric_aggregates a on a.run_id = u.run_id and a.metric_id = u.metric_id
       where u.round = a.round and (a.metric_version is null or a.metric_version = u.metric_version)
       union all
       select u.run_id, u.metric_id, -1, o.value, o.passed, o.error_code
       from upserted u
            join old o on o.record_id = u.record_id and o.metric_id = u.metric_id and o.metric_version = u.metric_version
            join rm_run_metric_aggregates a on a.run_id = u.run_id and a.metric_id = u.metric_id
       where o.round = a.round and (a.metric_version is null or a.metric_version = o.metric_version)),
     counted as (
       select run_id, metric_id,
              coalesce(sum(sign) filter (where error_code is null), 0) as scores,
              coalesce(sum(sign) filter (where passed), 0) as passed,
              coalesce(sum(sign) filter (where error_code is not null), 0) as failures,
              coalesce(sum(sign * value) filter (where error_code is null), 0) as sum
       from contributions group by run_id, metric_id),
     spent as (
       select run_id, metric_id, sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) as tokens, sum(coalesce(cost, 0)) as cost
       from x group by run_id, metric_id),
     per_metric as (
       select coalesce(c.run_id, p.run_id) as run_id, coalesce(c.metric_id, p.metric_id) as metric_id,
              coalesce(c.scores, 0) as scores, coalesce(c.passed, 0) as passed, coalesce(c.failures, 0) as failures, coalesce(c.sum, 0) as sum,
              coalesce(p.tokens, 0) as tokens, coalesce(p.cost, 0) as cost
       from counted c full join spent p on p.run_id = c.run_id and p.metric_id = c.metric_id),
     aggregates as (
       update rm_run_metric_aggregates a
       set count = a.count + p.scores, passed = a.passed + p.passed, failed = a.failed + p.failures, sum = a.sum + p.sum,
           judge_tokens = a.judge_tokens + p.tokens, judge_cost = a.judge_cost + p.cost
       from per_metric p where a.run_id = p.run_id and a.metric_id = p.metric_id)
     update rm_runs r
     set num_scores = r.num_scores + s.scores, num_failures = r.num_failures + s.failures,
         judge_tokens = r.judge_tokens + s.tokens, judge_cost = r.judge_cost + s.cost
     from (select run_id, sum(scores) as scores, sum(failures) as failures, sum(tokens) as tokens, sum(cost) as cost
           from per_metric group by run_id) s
     where r.id = s.run_id`,
    [JSON.stringify(outcomes)],
  );
}

/**
 * System calls (runs the server executes): each RecordAdded with `execution` adds its tokens and
 * cost to the run. The projector applies every event once (its checkpoint commits with it), and a
 * record is added once (its own stream), so the sum counts each call once.
 */
export async function projectSystemCosts(events: readonly StoredEvent[], tx: Sql): Promise<void> {
  const calls = events.flatMap((event) => {
    if (event.type !== 'RecordAdded') return [];
    const data = event.data as EventData<'RecordAdded'> & { execution?: { tokens?: { prompt?: number; completion?: number }; cost?: number } };
    const execution = data.execution;
    if (!execution) return [];
    return [{ run_id: data.runId, tokens: (execution.tokens?.prompt ?? 0) + (execution.tokens?.completion ?? 0), cost: execution.cost ?? 0 }];
  });
  if (calls.length === 0) return;
  await tx.query(
    `update rm_runs r set system_tokens = r.system_tokens + c.tokens, system_cost = r.system_cost + c.cost
     from (select run_id, sum(tokens) as tokens, sum(cost) as cost
           from jsonb_to_recordset($1::jsonb) as x(run_id text, tokens bigint, cost double precision) group by run_id) c
     where r.id = c.run_id`,
    [JSON.stringify(calls)],
  );
}
