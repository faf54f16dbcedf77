import type { OutputType } from '@assay/contracts';
import type { Significance, TestcaseChange } from '@assay/analysis';

/** At most this many metrics in one runHistory call. */
export const MAX_HISTORY_METRICS = 50;

export interface RunHistoryInput {
  readonly projectId: string;
  readonly metricIds: readonly string[];
  /** Runs created at or after this instant. */
  readonly from?: Date | null;
  /** Runs created before this instant. */
  readonly to?: Date | null;
}

/** One run's aggregate for one metric. */
export interface HistoryPointView {
  readonly runId: string;
  readonly runCreatedAt: Date;
  /** The metric version the run pinned (a metric edited into new versions is still one series). */
  readonly metricVersion: number;
  /** Scores recorded. */
  readonly count: number;
  readonly passed: number;
  /** Scoring failures (not failing scores). */
  readonly failed: number;
  /** Null before the first score. */
  readonly passRate: number | null;
  readonly mean: number | null;
}

export interface MetricHistoryView {
  readonly metricId: string;
  /** The metric's name now (else the name its newest run pinned). */
  readonly metricName: string;
  /** One point per run of the project that pinned the metric, oldest first. */
  readonly points: HistoryPointView[];
}

export interface AggregateSummary {
  readonly count: number;
  readonly passRate: number | null;
  readonly mean: number | null;
}

export interface MetricComparisonView {
  readonly metricId: string;
  readonly metricName: string;
  readonly outputType: OutputType;
  /** The versions each run pinned. */
  readonly baseVersion: number;
  readonly version: number;
  /** Each run's aggregate over all its records (as Run.aggregates shows it). */
  readonly base: AggregateSummary;
  readonly current: AggregateSummary;
  /** current − base of those aggregates; null when either side has no score yet. */
  readonly delta: { readonly passRate: number | null; readonly mean: number | null };
  /** Over the paired records with a score on both sides. */
  readonly significance: Significance;
  /** Every regressed testcase, largest drop first (the API pages them). */
  readonly regressed: readonly TestcaseChange[];
  readonly improved: readonly TestcaseChange[];
}

export interface RunComparisonView {
  readonly projectId: string;
  readonly baseRunId: string;
  readonly runId: string;
  /** Pairs of records (same testcase and trial). */
  readonly pairedRecords: number;
  /** Records of either run without a partner (no testcase id, a testcase the other run lacks, a repeat). */
  readonly unpairedRecords: number;
  readonly unpairedBaseRecords: number;
  readonly unpairedCurrentRecords: number;
  /** The metrics both runs pinned, in the current run's order. */
  readonly metrics: MetricComparisonView[];
}

export interface HistoryApi {
  /** Per metric, in the order asked, a series over the project's runs. METRIC_NOT_FOUND for an id the project does not know. */
  runHistory(input: RunHistoryInput): Promise<MetricHistoryView[]>;
  /** RUN_NOT_FOUND when either run is missing, or when they belong to different projects (the current run's id). */
  compareRuns(baseRunId: string, runId: string): Promise<RunComparisonView>;
}
