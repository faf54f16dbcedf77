import type { Sql } from '@assay/database';
import type { RunCostView } from '../types';

/**
 * Reads of the scoring read models (issue 4): a run's cost, and what rescoreRun needs.
 */

/** Tokens and cost of a run (issue 4): system calls from rm_runs, judge calls per metric from the aggregates. */
export async function runCost(sql: Sql, runId: string): Promise<RunCostView> {
  const [run] = await sql.query<{ system_tokens: string; system_cost: number; judge_tokens: string; judge_cost: number }>(
    'select system_tokens, system_cost, judge_tokens, judge_cost from rm_runs where id = $1',
    [runId],
  );
  const perMetric = await sql.query<{ metric_id: string; judge_tokens: string; judge_cost: number }>(
    `select a.metric_id, a.judge_tokens, a.judge_cost
     from rm_run_metric_aggregates a join rm_runs r on r.id = a.run_id,
          jsonb_array_elements(r.metrics) with ordinality as m(metric, ord)
     where a.run_id = $1 and m.metric->>'metricId' = a.metric_id
     order by m.ord`,
    [runId],
  );
  const systemCost = run ? Number(run.system_cost) : 0;
  const judgeCost = run ? Number(run.judge_cost) : 0;
  return {
    systemTokens: run ? Number(run.system_tokens) : 0,
    systemCost,
    judgeTokens: run ? Number(run.judge_tokens) : 0,
    judgeCost,
    total: systemCost + judgeCost,
    perMetric: perMetric.map((row) => ({ metricId: row.metric_id, tokens: Number(row.judge_tokens), cost: Number(row.judge_cost) })),
  };
}

/** The read-model side of RescoreReads (over rm_records and rm_run_metric_aggregates). */
export async function recordPositions(sql: Sql, runId: string): Promise<number[]> {
  const rows = await sql.query<{ seq: string | number }>('select seq from rm_records where run_id = $1 order by seq', [runId]);
  return rows.map((row) => Number(row.seq));
}

export async function rescoreProjected(sql: Sql, runId: string, metricIds: readonly string[], round: number): Promise<boolean> {
  const [row] = await sql.query<{ behind: number }>(
    'select count(*)::int as behind from rm_run_metric_aggregates where run_id = $1 and metric_id = any($2::text[]) and round < $3',
    [runId, metricIds, round],
  );
  const [exists] = await sql.query<{ n: number }>('select count(*)::int as n from rm_run_metric_aggregates where run_id = $1', [runId]);
  return row.behind === 0 && exists.n > 0;
}
