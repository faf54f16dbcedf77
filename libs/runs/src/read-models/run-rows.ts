import type { MetricSnapshot, RunSource } from '@assay/contracts';
import { numAwaitingExecution, numAwaitingHuman, runPhase, RunPhaseProgress, runStreamId, type RunStatus } from '@assay/domain';
import type { RunView, ScoreView } from '../types';

/** rm_runs as PostgreSQL returns it. */
export interface RunRow {
  id: string;
  project_id: string;
  notes: string;
  metrics: MetricSnapshot[];
  num_metrics: number;
  num_records: number;
  num_scores: number;
  num_failures: number;
  /** Human review (issue 4): HUMAN metrics of the run, human scores given. */
  num_human_metrics: number;
  num_human_scores: number;
  status: string;
  stream_version: number;
  /** Events of the log this row reflects (see revision-migrations.ts). */
  revision: number;
  created_at: Date;
  updated_at: Date;
  last_event_at: Date;
  testset_id: string | null;
  num_expected_records: number | null;
  system_version_id: string | null;
  /** Issue 4: who started the run, its trials, its executions that failed for good. */
  source: RunSource;
  trials: number | null;
  num_execution_failures: number;
  /** Records appended to the run that the projector has not applied yet (see runColumns). */
  records_pending?: boolean;
}

export const RUN_COLUMNS = [
  'id',
  'project_id',
  'notes',
  'metrics',
  'num_metrics',
  'num_records',
  'num_scores',
  'num_failures',
  'num_human_metrics',
  'num_human_scores',
  'status',
  'stream_version',
  'revision',
  'created_at',
  'updated_at',
  'last_event_at',
  'testset_id',
  'num_expected_records',
  'system_version_id',
  'source',
  'trials',
  'num_execution_failures',
] as const;

/**
 * The columns of a run's view, from rm_runs as `alias`, and whether records were appended to the
 * run that the row does not count yet: a RecordAdded (or RecordRescoreRequested) on the run stream
 * past the row's stream_version. Such a run is SCORING whatever its counts say, so a client that
 * adds records and then reads the run never sees the status from before them (a COMPLETED run
 * stayed COMPLETED until the projector caught up, and a poller could stop before its last batch
 * was scored). One probe of the stream's tail on the (stream_id, stream_position) key; addRecords
 * itself answers as soon as its records are stored.
 */
export function runColumns(alias: string): string {
  const pending =
    `exists (select 1 from assay_events e where e.stream_id = '${runStreamId('')}' || ${alias}.id and e.stream_position > ${alias}.stream_version ` +
    `and e.type in ('RecordAdded', 'RecordRescoreRequested')) as records_pending`;
  return [...RUN_COLUMNS.map((column) => `${alias}.${column}`), pending].join(', ');
}

/** What human review adds to a run's progress (status and phase): its HUMAN metrics and the human scores given. */
export function humanProgress(row: Pick<RunRow, 'num_human_metrics' | 'num_human_scores'>): { numHumanMetrics: number; numHumanScores: number } {
  return { numHumanMetrics: row.num_human_metrics ?? 0, numHumanScores: row.num_human_scores ?? 0 };
}

/** A run's progress as its row counts it: what its status and phase are decided from. */
export function runProgress(row: RunRow): RunPhaseProgress {
  return {
    numRecords: row.num_records,
    numMetrics: row.num_metrics,
    numScores: row.num_scores,
    numFailures: row.num_failures,
    ...executionProgress(row),
    ...humanProgress(row),
  };
}

export function toRunView(row: RunRow): RunView {
  // Records stored but not counted yet need scores: whatever the counts say, the run scores (ERROR stays ERROR).
  const scoringPending = Boolean(row.records_pending) && row.status !== 'ERROR';
  const progress = runProgress(row);
  const phase = runPhase(progress);
  return {
    id: row.id,
    projectId: row.project_id,
    status: scoringPending ? 'SCORING' : (row.status as RunStatus),
    numRecords: row.num_records,
    numScores: row.num_scores,
    numFailures: row.num_failures,
    ...humanProgress(row),
    numAwaitingHuman: numAwaitingHuman(progress),
    notes: row.notes,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastEventAt: new Date(row.last_event_at),
    testsetId: row.testset_id,
    numExpectedRecords: row.num_expected_records,
    systemVersionId: row.system_version_id,
    source: row.source,
    trials: row.trials,
    numExecutionFailures: row.num_execution_failures,
    phase: scoringPending && phase !== 'EXECUTING' ? 'SCORING' : phase,
    streamVersion: row.stream_version,
    revision: row.revision,
    metrics: row.metrics.map((m) => ({
      id: m.metricId,
      name: m.name,
      version: m.version,
      evalType: m.evalType,
      outputType: m.outputType,
      passingThreshold: m.passingThreshold,
    })),
  };
}

/** What runs the server executes add to a run's progress (status and phase): see @assay/domain run-phase. */
export function executionProgress(row: Pick<RunRow, 'source' | 'num_expected_records' | 'num_records' | 'num_execution_failures'>): Partial<RunPhaseProgress> {
  const progress = { source: row.source, numExpectedRecords: row.num_expected_records, numRecords: row.num_records, numExecutionFailures: row.num_execution_failures };
  return { ...progress, numAwaitingExecution: numAwaitingExecution(progress) };
}

/** The rm_scores columns every view of a score shows. */
export interface ScoreCoreRow {
  metric_id: string;
  metric_version: number;
  value: number | null;
  passed: boolean | null;
  reasoning: string | null;
  error_code: string | null;
  error_reason: string | null;
  source: string;
  scored_by: string | null;
}

/** What every view of a score shows, from its rm_scores row. */
export function scoreCore(row: ScoreCoreRow): Required<Pick<ScoreView, 'metricId' | 'metricVersion' | 'value' | 'passed' | 'reasoning' | 'error' | 'source' | 'scoredBy'>> {
  return {
    metricId: row.metric_id,
    metricVersion: row.metric_version,
    value: row.value,
    passed: row.passed,
    reasoning: row.reasoning,
    error: row.error_code ? { code: row.error_code, reason: row.error_reason ?? '' } : null,
    source: row.source === 'HUMAN' ? 'HUMAN' : 'AUTOMATIC',
    scoredBy: row.scored_by,
  };
}
