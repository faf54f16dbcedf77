import { AssayError, type MetricSnapshot, type OutputType } from '@assay/contracts';
import { alignRecords, compareMetricPairs, type PairedScore } from '@assay/analysis';
import type { Sql } from '@assay/database';
import {
  MAX_HISTORY_METRICS,
  type AggregateSummary,
  type HistoryApi,
  type HistoryPointView,
  type MetricComparisonView,
  type MetricHistoryView,
  type RunComparisonView,
  type RunHistoryInput,
} from './types';

interface PointRow {
  metric_id: string;
  metric_version: number;
  metric_name: string;
  run_id: string;
  created_at: Date;
  count: number | null;
  passed: number | null;
  failed: number | null;
  sum: number | null;
}

interface RunRow {
  id: string;
  project_id: string;
  metrics: MetricSnapshot[];
}

interface AggregateRow {
  run_id: string;
  metric_id: string;
  count: number;
  passed: number;
  sum: number;
}

/** A record with its latest outcome per compared metric; scores only (failures left out). */
interface RecordRow {
  id: string;
  run_id: string;
  testcase_id: string | null;
  trial: number | null;
  scores: { m: string; v: number; p: boolean }[];
}

/** Columns of the read models that came later (issue 4): read them where the database has them. */
interface ReadModelColumns {
  /** rm_records.trial: the trial of a record the server executed (null: trial 0). */
  readonly trial: boolean;
  /** rm_scores.round: the re-score round of an outcome (a later round supersedes an earlier one). */
  readonly round: boolean;
}

const metricNotFound = (metricId: string) =>
  new AssayError('METRIC_NOT_FOUND', `Metric "${metricId}" does not exist: check the metric id (createMetric returns it).`, { metricId });
const runNotFound = (runId: string) =>
  new AssayError('RUN_NOT_FOUND', `Run "${runId}" does not exist: check the run id (createRun returns it).`, { runId });

/**
 * History and comparison of runs, read from the runs read models (rm_runs, rm_records, rm_scores,
 * rm_run_metric_aggregates); the statistics are @assay/analysis. Read-only and eventually
 * consistent with the log, like every query.
 */
export class HistoryQueries implements HistoryApi {
  private columns?: Promise<ReadModelColumns>;

  constructor(private readonly sql: Sql) {}

  /** Read once per instance: migrations run when the database is connected, before any query. */
  private readModelColumns(): Promise<ReadModelColumns> {
    this.columns ??= this.sql
      .query<{ table_name: string; column_name: string }>(
        `select table_name, column_name from information_schema.columns
         where table_schema = current_schema()
           and ((table_name = 'rm_records' and column_name = 'trial') or (table_name = 'rm_scores' and column_name = 'round'))`,
      )
      .then((rows) => ({ trial: rows.some((r) => r.column_name === 'trial'), round: rows.some((r) => r.column_name === 'round') }))
      .catch((error) => {
        this.columns = undefined;
        throw error;
      });
    return this.columns;
  }

  async runHistory(input: RunHistoryInput): Promise<MetricHistoryView[]> {
    const metricIds = [...new Set(input.metricIds)];
    if (metricIds.length > MAX_HISTORY_METRICS) {
      throw new AssayError('BAD_USER_INPUT', `runHistory takes at most ${MAX_HISTORY_METRICS} metric ids and got ${metricIds.length}: ask for fewer at a time.`, {
        max: MAX_HISTORY_METRICS,
        received: metricIds.length,
      });
    }
    if (input.from && input.to && input.from.getTime() > input.to.getTime()) {
      throw new AssayError('BAD_USER_INPUT', `runHistory: "from" (${input.from.toISOString()}) is after "to" (${input.to.toISOString()}).`, { field: 'from' });
    }
    if (metricIds.length === 0) return [];

    // One row per (run, metric) the run pinned, from the running aggregates: no score is read.
    const [points, names] = await Promise.all([
      this.sql.query<PointRow>(
        `select m.metric->>'metricId' as metric_id, (m.metric->>'version')::int as metric_version, m.metric->>'name' as metric_name,
                r.id as run_id, r.created_at, a.count, a.passed, a.failed, a.sum
         from rm_runs r
         cross join lateral jsonb_array_elements(r.metrics) as m(metric)
         left join rm_run_metric_aggregates a on a.run_id = r.id and a.metric_id = m.metric->>'metricId'
         where r.project_id = $1
           and m.metric->>'metricId' = any($2::text[])
           and ($3::timestamptz is null or r.created_at >= $3::timestamptz)
           and ($4::timestamptz is null or r.created_at < $4::timestamptz)
         order by r.created_at, r.id`,
        [input.projectId, metricIds, input.from ?? null, input.to ?? null],
      ),
      this.sql.query<{ id: string; name: string }>('select id, name from rm_metrics where project_id = $1 and id = any($2::text[])', [input.projectId, metricIds]),
    ]);

    const nameOf = new Map(names.map((row) => [row.id, row.name]));
    const listed = new Set(nameOf.keys());
    const series = new Map<string, HistoryPointView[]>(metricIds.map((id) => [id, []]));
    for (const row of points) {
      const count = row.count ?? 0;
      const passed = row.passed ?? 0;
      series.get(row.metric_id)!.push({
        runId: row.run_id,
        runCreatedAt: new Date(row.created_at),
        metricVersion: row.metric_version,
        count,
        passed,
        failed: row.failed ?? 0,
        passRate: count > 0 ? passed / count : null,
        mean: count > 0 ? (row.sum ?? 0) / count : null,
      });
      // A metric the read model does not list (yet) that runs pinned: the newest pinned name.
      if (!listed.has(row.metric_id)) nameOf.set(row.metric_id, row.metric_name);
    }
    const unnamed = metricIds.filter((id) => !nameOf.has(id));
    if (unnamed.length) {
      // No point in the window and not listed: pinned by a run outside the window, or unknown.
      const pinned = await this.sql.query<{ metric_id: string; metric_name: string }>(
        `select distinct on (m.metric->>'metricId') m.metric->>'metricId' as metric_id, m.metric->>'name' as metric_name
         from rm_runs r cross join lateral jsonb_array_elements(r.metrics) as m(metric)
         where r.project_id = $1 and m.metric->>'metricId' = any($2::text[])
         order by m.metric->>'metricId', r.created_at desc`,
        [input.projectId, unnamed],
      );
      for (const row of pinned) nameOf.set(row.metric_id, row.metric_name);
      const missing = metricIds.find((id) => !nameOf.has(id));
      if (missing) throw metricNotFound(missing);
    }
    return metricIds.map((metricId) => ({ metricId, metricName: nameOf.get(metricId)!, points: series.get(metricId)! }));
  }

  async compareRuns(baseRunId: string, runId: string): Promise<RunComparisonView> {
    const runs = await this.sql.query<RunRow>('select id, project_id, metrics from rm_runs where id = any($1::text[])', [[baseRunId, runId]]);
    const base = runs.find((r) => r.id === baseRunId);
    const current = runs.find((r) => r.id === runId);
    if (!base) throw runNotFound(baseRunId);
    // Another project's run is refused exactly as a missing one.
    if (!current || current.project_id !== base.project_id) throw runNotFound(runId);

    const baseMetrics = new Map(base.metrics.map((m) => [m.metricId, m]));
    const shared = current.metrics.filter((m) => baseMetrics.has(m.metricId));
    const sharedIds = shared.map((m) => m.metricId);

    const columns = await this.readModelColumns();
    const [records, aggregates] = await Promise.all([
      // Each record with its latest outcome per shared metric (the highest metric version, then
      // re-score round: a re-scored record counts with its new score), failures dropped after
      // choosing. One index lookup per record (rm_scores' primary key), never a scan of rm_scores.
      this.sql.query<RecordRow>(
        `select r.id, r.run_id, r.testcase_id, ${columns.trial ? 'r.trial' : 'null::int as trial'},
                coalesce(jsonb_agg(jsonb_build_object('m', s.metric_id, 'v', s.value, 'p', s.passed)) filter (where s.error_code is null and s.value is not null), '[]') as scores
         from rm_records r
         left join lateral (
           select distinct on (metric_id) metric_id, value, passed, error_code
           from rm_scores where record_id = r.id and metric_id = any($2::text[])
           order by metric_id, metric_version desc${columns.round ? ', coalesce(round, 0) desc' : ''}
         ) s on true
         where r.run_id = any($1::text[])
         group by r.id
         order by r.run_id, r.seq`,
        [[baseRunId, runId], sharedIds],
      ),
      this.sql.query<AggregateRow>(
        'select run_id, metric_id, count, passed, sum from rm_run_metric_aggregates where run_id = any($1::text[]) and metric_id = any($2::text[])',
        [[baseRunId, runId], sharedIds],
      ),
    ]);

    // A self-comparison reads each record once: use it on both sides.
    const baseRecords = records.filter((r) => r.run_id === baseRunId);
    const currentRecords = baseRunId === runId ? baseRecords : records.filter((r) => r.run_id === runId);
    const alignment = alignRecords(
      baseRecords.map((r) => ({ ...r, testcaseId: r.testcase_id })),
      currentRecords.map((r) => ({ ...r, testcaseId: r.testcase_id })),
    );
    const scoreMaps = new Map<string, Map<string, { value: number; passed: boolean }>>();
    const scoresOf = (record: RecordRow) => {
      let map = scoreMaps.get(record.id);
      if (!map) {
        map = new Map(record.scores.map((s) => [s.m, { value: s.v, passed: s.p }]));
        scoreMaps.set(record.id, map);
      }
      return map;
    };
    const aggregateOf = (run: string, metricId: string): AggregateSummary => {
      const row = aggregates.find((a) => a.run_id === run && a.metric_id === metricId);
      const count = row?.count ?? 0;
      return { count, passRate: count > 0 ? row!.passed / count : null, mean: count > 0 ? row!.sum / count : null };
    };
    const difference = (x: number | null, y: number | null) => (x === null || y === null ? null : y - x);

    const metrics: MetricComparisonView[] = shared.map((metric) => {
      const pairs: PairedScore[] = [];
      for (const pair of alignment.pairs) {
        const before = scoresOf(pair.base).get(metric.metricId);
        const after = scoresOf(pair.current).get(metric.metricId);
        if (before && after) pairs.push({ testcaseId: pair.testcaseId, trial: pair.trial, base: before, current: after });
      }
      const outputType: OutputType = metric.outputType;
      const { significance, regressed, improved } = compareMetricPairs(outputType, pairs);
      const baseAggregate = aggregateOf(baseRunId, metric.metricId);
      const currentAggregate = aggregateOf(runId, metric.metricId);
      return {
        metricId: metric.metricId,
        metricName: metric.name,
        outputType,
        baseVersion: baseMetrics.get(metric.metricId)!.version,
        version: metric.version,
        base: baseAggregate,
        current: currentAggregate,
        delta: {
          passRate: difference(baseAggregate.passRate, currentAggregate.passRate),
          mean: difference(baseAggregate.mean, currentAggregate.mean),
        },
        significance,
        regressed,
        improved,
      };
    });

    return {
      projectId: base.project_id,
      baseRunId,
      runId,
      pairedRecords: alignment.pairs.length,
      unpairedRecords: alignment.unpairedBase.length + alignment.unpairedCurrent.length,
      unpairedBaseRecords: alignment.unpairedBase.length,
      unpairedCurrentRecords: alignment.unpairedCurrent.length,
      metrics,
    };
  }
}
