import type { Sql } from '@assay/database';
import type {
  ExecutionFailureView,
  ExecutionInfo,
  MetricAggregateView,
  MetricVersionView,
  MetricView,
  Page,
  PageRequest,
  ProjectView,
  RecordView,
  RunCostView,
  RunQueriesApi,
  RunView,
  ScoreView,
} from '../types';
import { decodeSeqCursor, decodeTimeIdCursor, encodeCursor, pageSize } from '@assay/contracts';
import { runColumns, RunRow, scoreCore, ScoreCoreRow, toRunView } from './run-rows';
import { MetricQueries } from './metric-queries';
import { recordPositions, rescoreProjected, runCost } from './scoring-queries';

interface RecordRow {
  id: string;
  run_id: string;
  seq: string | number;
  testcase_id: string | null;
  inputs: unknown;
  outputs: unknown;
  expected: unknown;
  created_at: Date;
  trial: number | null;
  execution: ExecutionInfo | null;
}

interface ScoreRow extends ScoreCoreRow {
  record_id: string;
  round: number;
  judge_model: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost: number | null;
  cached: boolean | null;
}

/** Reads of the runs read models. Eventually consistent with the log; commands wait where it matters. */
export class RunQueries implements RunQueriesApi {
  private readonly metrics: MetricQueries;

  constructor(private readonly sql: Sql) {
    this.metrics = new MetricQueries(sql);
  }

  async getProject(id: string): Promise<ProjectView | null> {
    const [row] = await this.sql.query('select id, name, created_at from rm_projects where id = $1', [id]);
    return row ? { id: row.id, name: row.name, createdAt: new Date(row.created_at) } : null;
  }

  getMetric(id: string): Promise<MetricView | null> {
    return this.metrics.get(id);
  }

  listMetrics(projectId: string): Promise<MetricView[]> {
    return this.metrics.list(projectId);
  }

  listMetricVersions(metricId: string): Promise<MetricVersionView[]> {
    return this.metrics.versions(metricId);
  }

  getRunMetricVersions(runId: string): Promise<MetricVersionView[]> {
    return this.metrics.ofRun(runId);
  }

  async getRun(id: string): Promise<RunView | null> {
    const [row] = await this.sql.query<RunRow>(`select ${runColumns('r')} from rm_runs r where id = $1`, [id]);
    return row ? toRunView(row) : null;
  }

  /** Several runs at once (unknown ids are left out), e.g. every run a gateway has live subscribers for. */
  async getRuns(ids: readonly string[]): Promise<RunView[]> {
    if (ids.length === 0) return [];
    const rows = await this.sql.query<RunRow>(`select ${runColumns('r')} from rm_runs r where id = any($1::text[])`, [ids]);
    return rows.map(toRunView);
  }

  /** Newest first; the cursor is the (created_at, id) of the last run seen. */
  async listRuns(projectId: string, page: PageRequest): Promise<Page<RunView>> {
    const limit = pageSize(page.first);
    const params: unknown[] = [projectId, limit + 1];
    let after = '';
    if (page.after) {
      const { at, id } = decodeTimeIdCursor(page.after);
      params.push(at, id);
      after = 'and (created_at, id) < ($3::timestamptz, $4::text)';
    }
    const rows = await this.sql.query<RunRow>(
      `select ${runColumns('r')} from rm_runs r where project_id = $1 ${after}
       order by created_at desc, id desc limit $2`,
      params,
    );
    return toPage(rows.map(toRunView), limit, (run) => encodeCursor([run.createdAt.toISOString(), run.id]));
  }

  async getAggregates(runId: string): Promise<MetricAggregateView[]> {
    const rows = await this.sql.query(
      `select a.metric_id, a.count, a.passed, a.failed, a.sum
       from rm_run_metric_aggregates a join rm_runs r on r.id = a.run_id,
            jsonb_array_elements(r.metrics) with ordinality as m(metric, ord)
       where a.run_id = $1 and m.metric->>'metricId' = a.metric_id
       order by m.ord`,
      [runId],
    );
    return rows.map((row) => ({
      metricId: row.metric_id,
      count: row.count,
      passed: row.passed,
      failed: row.failed,
      passRate: row.count > 0 ? row.passed / row.count : null,
      mean: row.count > 0 ? row.sum / row.count : null,
    }));
  }

  /** In the order records were added; the cursor is the RecordAdded event's global position. */
  async listRecords(runId: string, page: PageRequest): Promise<Page<RecordView>> {
    const limit = pageSize(page.first);
    const afterSeq = page.after ? decodeSeqCursor(page.after) : 0;
    const rows = await this.sql.query<RecordRow>(
      `select id, run_id, seq, testcase_id, inputs, outputs, expected, created_at, trial, execution
       from rm_records where run_id = $1 and seq > $2 order by seq limit $3`,
      [runId, afterSeq, limit + 1],
    );
    const hasNextPage = rows.length > limit;
    const pageRows = rows.slice(0, limit);
    const scores = await this.scoresOf(pageRows.map((r) => r.id));
    const items = pageRows.map((row) => ({ node: toRecordView(row, scores.get(row.id) ?? []), cursor: encodeCursor([Number(row.seq)]) }));
    return { items, hasNextPage, endCursor: items.at(-1)?.cursor ?? null };
  }

  /** Issue 4: tokens and cost of the run's system and judge calls (see scoring-queries.ts). */
  getRunCost(runId: string): Promise<RunCostView> {
    return runCost(this.sql, runId);
  }

  /** rescoreRun: global positions of the run's RecordAdded events, in order. */
  recordPositions(runId: string): Promise<number[]> {
    return recordPositions(this.sql, runId);
  }

  /** rescoreRun (read-your-writes): whether the read models count these metrics of the run in `round`. */
  rescoreProjected(runId: string, metricIds: readonly string[], round: number): Promise<boolean> {
    return rescoreProjected(this.sql, runId, metricIds, round);
  }

  async *streamRecords(runId: string, pageSizeHint = 500): AsyncIterable<RecordView> {
    let after: string | null = null;
    for (;;) {
      const page: Page<RecordView> = await this.listRecords(runId, { first: pageSizeHint, after });
      for (const item of page.items) yield item.node;
      if (!page.hasNextPage) return;
      after = page.endCursor;
    }
  }

  /** A run's executions that failed for good (issue 4), oldest first; at most `limit`. */
  async listExecutionFailures(runId: string, limit = 100): Promise<ExecutionFailureView[]> {
    const rows = await this.sql.query(
      `select record_id, run_id, testcase_id, trial, code, reason, attempts, created_at
       from rm_execution_failures where run_id = $1 order by created_at, record_id limit $2`,
      [runId, limit],
    );
    return rows.map((row) => ({
      recordId: row.record_id,
      runId: row.run_id,
      testcaseId: row.testcase_id,
      trial: row.trial,
      code: row.code,
      reason: row.reason,
      attempts: row.attempts,
      createdAt: new Date(row.created_at),
    }));
  }

  /** The scores of each record, by record id (also the review queue's). */
  async scoresOf(recordIds: readonly string[]): Promise<Map<string, ScoreView[]>> {
    const byRecord = new Map<string, ScoreView[]>();
    if (recordIds.length === 0) return byRecord;
    const rows = await this.sql.query<ScoreRow>(
      `select record_id, metric_id, metric_version, value, passed, reasoning, error_code, error_reason, source, scored_by,
              round, judge_model, prompt_tokens, completion_tokens, cost, cached
       from rm_scores where record_id = any($1::text[]) order by record_id, metric_id, metric_version`,
      [recordIds],
    );
    for (const row of rows) {
      const list = byRecord.get(row.record_id) ?? [];
      list.push({
        ...scoreCore(row),
        ...(row.round ? { round: row.round } : {}),
        ...(row.judge_model === null
          ? {}
          : { judge: { model: row.judge_model, promptTokens: row.prompt_tokens ?? 0, completionTokens: row.completion_tokens ?? 0, cost: row.cost ?? 0, cached: row.cached ?? false } }),
      });
      byRecord.set(row.record_id, list);
    }
    return byRecord;
  }
}

function toRecordView(row: RecordRow, scores: ScoreView[]): RecordView {
  return {
    id: row.id,
    runId: row.run_id,
    testcaseId: row.testcase_id,
    inputs: row.inputs,
    outputs: row.outputs,
    expected: row.expected,
    scores,
    createdAt: new Date(row.created_at),
    trial: row.trial,
    execution: row.execution,
  };
}

function toPage<T>(nodes: T[], limit: number, cursorOf: (node: T) => string): Page<T> {
  const items = nodes.slice(0, limit).map((node) => ({ node, cursor: cursorOf(node) }));
  return { items, hasNextPage: nodes.length > limit, endCursor: items.at(-1)?.cursor ?? null };
}
