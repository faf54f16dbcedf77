import type { EvalType, HeuristicDefinition, OutputType, RunSource } from '@assay/contracts';
import type { MetricChanges, MetricDefinition, RunPhase, RunStatus } from '@assay/domain';
import type { ScoreSource } from '@assay/contracts';

/**
 * What the gateway (and the SDK behind it) can ask of runs: commands that append events, and
 * queries over the read models the runs service projects from the global log.
 */

export interface ProjectView {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
}

/** A metric at its current version. */
export interface MetricView {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly version: number;
  readonly evalType: EvalType;
  readonly outputType: OutputType;
  readonly heuristic: HeuristicDefinition | null;
  readonly passingThreshold: number;
  // Issue 3 (see MetricDefinition in @assay/domain):
  readonly description: string;
  readonly guidelines: string;
  readonly promptTemplate: string | null;
  readonly evalModelName: string | null;
  readonly temperature: number | null;
  /** When version 1 was created. */
  readonly createdAt: Date;
  /** When the current version was created. */
  readonly updatedAt: Date;
}

/** One version of a metric, as it was defined (and as runs that pinned it score with it). */
export interface MetricVersionView extends MetricDefinition {
  readonly metricId: string;
  readonly version: number;
  readonly createdAt: Date;
}

export interface RunView {
  readonly id: string;
  readonly projectId: string;
  readonly status: RunStatus;
  readonly numRecords: number;
  readonly numScores: number;
  readonly numFailures: number;
  readonly notes: string;
  readonly createdAt: Date;
  /** When the projector last changed this view. */
  readonly updatedAt: Date;
  /** When the newest event reflected in this view was appended: push latency is measured from it. */
  readonly lastEventAt: Date;
  readonly metrics: readonly { id: string; name: string; version: number; evalType: EvalType; outputType: OutputType; passingThreshold: number }[];
  /** The run stream's version this view reflects (read-your-writes after a command). */
  readonly streamVersion: number;
  /**
   * Events of the log this view reflects: grows with every change to the run, so it orders views
   * (counts do not: a re-score sets them back to zero).
   */
  readonly revision: number;
  /** The testset the run evaluates, and its size when the run was made (issue 3). */
  readonly testsetId?: string | null;
  readonly numExpectedRecords?: number | null;
  /** The system version under test (issue 3). */
  readonly systemVersionId?: string | null;
  /** Human review (issue 4): the run's HUMAN metrics, the human scores given, the (record, HUMAN metric) pairs still waiting for a person. */
  readonly numHumanMetrics?: number;
  readonly numHumanScores?: number;
  readonly numAwaitingHuman?: number;
  /** Issue 4: who started the run (absent: API), where it is in its life, its trials (runs the server executes). */
  readonly source?: RunSource;
  readonly phase?: RunPhase;
  readonly trials?: number | null;
  /** Executions (runs the server executes) that failed for good: each makes the run ERROR. */
  readonly numExecutionFailures?: number;
}

export interface MetricAggregateView {
  readonly metricId: string;
  /** Scores recorded. */
  readonly count: number;
  readonly passed: number;
  readonly failed: number;
  /** Passed / count; null before the first score. */
  readonly passRate: number | null;
  /** Mean value; null before the first score. For BOOLEAN, the same as passRate. */
  readonly mean: number | null;
}

export interface ScoreView {
  readonly metricId: string;
  readonly metricVersion: number;
  readonly value: number | null;
  readonly passed: boolean | null;
  readonly reasoning: string | null;
  /** Set when scoring failed for good. */
  readonly error: { code: string; reason: string } | null;
  /** Issue 4: AUTOMATIC (a worker, a judge) or HUMAN (submitScore); absent means AUTOMATIC. */
  readonly source?: ScoreSource;
  /** HUMAN scores: the id of the API key that gave (or last corrected) the score. */
  readonly scoredBy?: string | null;
  /** Issue 4, AI metrics: the judge calls behind the outcome (tokens and cost 0 when answered from the judge cache). */
  readonly judge?: JudgeView | null;
  /** Issue 4: the re-score round of the outcome (0: the run's first scoring). */
  readonly round?: number;
}

export interface JudgeView {
  readonly model: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cost: number;
  readonly cached: boolean;
}

/** What a run spent (issue 4): system calls (runs the server executes) and judge calls, per metric. */
export interface RunCostView {
  readonly systemTokens: number;
  readonly systemCost: number;
  readonly judgeTokens: number;
  readonly judgeCost: number;
  /** systemCost + judgeCost. */
  readonly total: number;
  /** Judge tokens and cost per metric of the run, in run order (superseded re-score rounds included). */
  readonly perMetric: readonly { readonly metricId: string; readonly tokens: number; readonly cost: number }[];
}

export interface RescoreRunInput {
  readonly runId: string;
  /** The run's metrics to score again with their latest versions; absent or empty: every metric that is not HUMAN. */
  readonly metricIds?: readonly string[] | null;
  /** Ask the judge models again instead of answering unchanged records from the judge cache. */
  readonly bypassCache?: boolean | null;
}

export interface RecordView {
  readonly id: string;
  readonly runId: string;
  readonly testcaseId: string | null;
  readonly inputs: unknown;
  readonly outputs: unknown;
  readonly expected: unknown;
  readonly scores: readonly ScoreView[];
  readonly createdAt: Date;
  /** Records the server executed (issue 4): the trial (0-based) and the system call behind the outputs. */
  readonly trial?: number | null;
  readonly execution?: ExecutionInfo | null;
}

export interface Page<T> {
  readonly items: readonly { node: T; cursor: string }[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

export interface PageRequest {
  readonly first?: number | null;
  readonly after?: string | null;
}

export interface RecordInput {
  readonly testcaseId?: string | null;
  readonly inputs?: unknown;
  readonly outputs?: unknown;
  readonly expected?: unknown;
}

export interface CreateMetricInput {
  readonly projectId: string;
  readonly name: string;
  readonly evalType: EvalType;
  readonly outputType: OutputType;
  readonly heuristic?: HeuristicDefinition | null;
  readonly passingThreshold?: number | null;
  readonly description?: string | null;
  readonly guidelines?: string | null;
  readonly promptTemplate?: string | null;
  readonly evalModelName?: string | null;
  readonly temperature?: number | null;
}

/** The fields to change (absent: kept; null: back to the default); evalType and outputType never change. */
export interface UpdateMetricInput extends MetricChanges {
  readonly metricId: string;
}

export interface UpdateMetricOptions {
  /**
   * Called with the metric's project before anything changes (null when there is no such metric):
   * throw to refuse. The gateway refuses a foreign metric exactly as a missing one.
   */
  readonly authorize?: (projectId: string | null) => void;
}

export interface CreateRunInput {
  readonly projectId: string;
  readonly metricIds: readonly string[];
  readonly notes?: string | null;
  /** Of the same project, like the metrics: another project's is refused as missing (TESTSET_NOT_FOUND). */
  readonly testsetId?: string | null;
  /** Of the same project: another project's is refused as missing (SYSTEM_VERSION_NOT_FOUND). */
  readonly systemVersionId?: string | null;
  /** API (default) or CI: who sends the records. KICKOFF and PLAYGROUND runs come from kickoffRun. */
  readonly source?: RunSource | null;
}

/**
 * What runs need from the catalog (testsets, systems), implemented over their read models by the
 * composition root. Each lookup answers null for a missing id; the caller checks the project.
 */
export interface RunCatalog {
  testset(testsetId: string): Promise<{ projectId: string; numTestcases: number } | null>;
  systemVersion(versionId: string): Promise<{ projectId: string } | null>;
  /** Which of `ids` are testcases of the testset. */
  testcasesOf(testsetId: string, ids: readonly string[]): Promise<ReadonlySet<string>>;
}

export interface RunCommandsApi {
  createProject(input: { name: string }): Promise<ProjectView>;
  createMetric(input: CreateMetricInput): Promise<MetricView>;
  /** A new version with the whole new definition (none when nothing changes); runs keep the versions they pinned. */
  updateMetric(input: UpdateMetricInput, options?: UpdateMetricOptions): Promise<MetricView>;
  /** Resolves once the run is visible to queries. */
  createRun(input: CreateRunInput): Promise<RunView>;
  /** One transaction: all records or none. */
  /**
   * With an `idempotencyKey`, a call repeated with the same key (a client retrying after a
   * timeout) adds nothing and answers the same record ids.
   */
  addRecords(runId: string, records: readonly RecordInput[], options?: { idempotencyKey?: string | null }): Promise<RecordView[]>;
  updateRunNotes(runId: string, notes: string): Promise<RunView>;
  /**
   * Issue 4: scores the run's existing records again with the metrics' latest versions, without
   * running the system again (HUMAN metrics are never re-scored). `authorize` sees the run's project
   * first (null: no such run) and throws to refuse. Resolves once the run shows it.
   */
  rescoreRun?(input: RescoreRunInput, authorize?: (projectId: string | null) => void): Promise<RunView>;
}

export interface RunQueriesApi {
  getProject(id: string): Promise<ProjectView | null>;
  getMetric(id: string): Promise<MetricView | null>;
  /** The project's metrics at their current versions, by name. */
  listMetrics(projectId: string): Promise<MetricView[]>;
  /** Every version of a metric, oldest first. */
  listMetricVersions(metricId: string): Promise<MetricVersionView[]>;
  /** The metric versions the run pinned, in run order. */
  getRunMetricVersions(runId: string): Promise<MetricVersionView[]>;
  getRun(id: string): Promise<RunView | null>;
  /** Several runs at once; unknown ids are left out. */
  getRuns(ids: readonly string[]): Promise<RunView[]>;
  listRuns(projectId: string, page: PageRequest): Promise<Page<RunView>>;
  getAggregates(runId: string): Promise<MetricAggregateView[]>;
  listRecords(runId: string, page: PageRequest): Promise<Page<RecordView>>;
  /** Every record in order, fetched page by page: constant memory for the CSV export. */
  streamRecords(runId: string, pageSize?: number): AsyncIterable<RecordView>;
  /** Issue 4: tokens and cost of the run's system and judge calls. */
  getRunCost?(runId: string): Promise<RunCostView>;
}

/** Topic of the live-status broadcast: payload is a RunView (JSON). */
export const RUN_UPDATED_TOPIC = 'run-updated';

/** The system call behind an executed record's outputs (RecordAdded.execution). */
export interface ExecutionInfo {
  readonly model: string;
  readonly provider?: string;
  readonly tokens: { readonly prompt: number; readonly completion: number };
  readonly cost: number;
  readonly latencyMs: number;
}

/** An execution of a run that failed for good (issue 4): why, for a person. */
export interface ExecutionFailureView {
  readonly recordId: string;
  readonly runId: string;
  readonly testcaseId: string | null;
  readonly trial: number;
  readonly code: string;
  readonly reason: string;
  readonly attempts: number;
  readonly createdAt: Date;
}
