import { AssayError, MetricSnapshot, RecordRescoreRequested, RunRescoreRequested } from '@assay/contracts';
import type { RunState } from './run';

/**
 * Re-scoring (issue 4, `rescoreRun`): a run's existing records scored again with its metrics'
 * latest versions, without running the system again.
 *
 * - `rescores-<runId>` holds one RunRescoreRequested per request: the metrics' new snapshots and the
 *   round (1, 2, …; the run's first scoring is round 0). Folded over the run's own snapshots it
 *   gives what the run scores with now: per metric a snapshot and a round (`currentRunMetrics`).
 *   The stream is small, so a scoring worker checks its version cheaply before each batch.
 * - The run stream gets one RecordRescoreRequested per record (the first page of them in the
 *   request's transaction, the rest right after): what the scoring workers consume (like
 *   RecordAdded) and what the relay carries.
 * - An outcome carries its round; the record-scoring decider decides each (record, metric version,
 *   round) once, and read models count only outcomes of each metric's current version and round.
 * - HUMAN metrics are a person's: never re-scored (asking for one is skipped), so human scores are
 *   never replaced.
 */
export const rescoreStreamId = (runId: string) => `rescores-${runId}`;

/** A metric as a run scores it now: its snapshot and the round its outcomes must carry. */
export interface RunMetricPin {
  readonly snapshot: MetricSnapshot;
  readonly round: number;
}

export interface RescoreState {
  /** Rounds requested so far (the next one is rounds + 1). */
  readonly rounds: number;
  /** Per metric id, its latest re-score: snapshot and round. */
  readonly pins: Readonly<Record<string, RunMetricPin>>;
}

export const initialRescoreState = (): RescoreState => ({ rounds: 0, pins: {} });

export function evolveRescore(state: RescoreState, event: RunRescoreRequested): RescoreState {
  const pins = { ...state.pins };
  for (const snapshot of event.data.metrics) pins[snapshot.metricId] = { snapshot, round: event.data.round };
  return { rounds: Math.max(state.rounds, event.data.round), pins };
}

/** The run's metrics in run order, each at its current version and round. */
export function currentRunMetrics(runMetrics: readonly MetricSnapshot[], rescore: RescoreState): RunMetricPin[] {
  return runMetrics.map((snapshot) => rescore.pins[snapshot.metricId] ?? { snapshot, round: 0 });
}

/** A record of the run as RecordAdded stated it. */
export interface RescoreRecord {
  readonly recordId: string;
  readonly testcaseId: string | null;
  readonly inputs: unknown;
  readonly outputs: unknown;
  readonly expected: unknown;
}

export interface RescoreRun {
  readonly type: 'RescoreRun';
  readonly runId: string;
  /** Which of the run's metrics to score again; absent or empty: every metric that is not HUMAN. */
  readonly metricIds?: readonly string[] | null;
  /** Each requested metric's latest snapshot (read by the handler from the metric streams). */
  readonly latest: readonly MetricSnapshot[];
  /** How many records the run has (from its RecordAdded events): the request states it. */
  readonly numRecords: number;
  readonly bypassCache: boolean;
}

export interface RescoreDecision {
  /** For `rescores-<runId>`; each record's request follows from it (`recordRescoreRequests`). */
  readonly requested: RunRescoreRequested;
  /** HUMAN metrics that were asked for and left alone. */
  readonly skippedHuman: string[];
}

/** Which of the run's metrics a request names (deduplicated, run order kept for the default). */
export function metricsToRescore(run: RunState, metricIds: readonly string[] | null | undefined): { metricIds: string[]; skippedHuman: string[] } {
  if (!run.exists) throw new AssayError('RUN_NOT_FOUND', 'Run not found.');
  const byId = new Map(run.metrics.map((m) => [m.metricId, m]));
  const asked = metricIds && metricIds.length > 0 ? [...new Set(metricIds)] : run.metrics.map((m) => m.metricId);
  const foreign = asked.find((id) => !byId.has(id));
  if (foreign) {
    throw new AssayError(
      'METRIC_NOT_FOUND',
      `Metric ${foreign} is not a metric of run ${run.runId}: rescoreRun scores a run's records again with the run's own metrics (${[...byId.keys()].join(', ')}).`,
      { field: 'metricIds', metricId: foreign },
    );
  }
  const named = Boolean(metricIds && metricIds.length > 0);
  const skippedHuman = named ? asked.filter((id) => byId.get(id)!.evalType === 'HUMAN') : [];
  return { metricIds: asked.filter((id) => byId.get(id)!.evalType !== 'HUMAN'), skippedHuman };
}

export function decideRescore(command: RescoreRun, run: RunState, rescore: RescoreState): RescoreDecision {
  if (!run.exists) throw new AssayError('RUN_NOT_FOUND', `Run ${command.runId} not found.`);
  const { metricIds, skippedHuman } = metricsToRescore(run, command.metricIds);
  if (metricIds.length === 0) {
    throw new AssayError(
      'BAD_USER_INPUT',
      'Only HUMAN metrics were named: people score those (submitScore), and re-scoring never replaces their scores. Name AI or HEURISTIC metrics of the run.',
      { field: 'metricIds' },
    );
  }
  const latest = new Map(command.latest.map((snapshot) => [snapshot.metricId, snapshot]));
  const metrics = metricIds.map((id) => {
    const snapshot = latest.get(id);
    if (!snapshot) throw new AssayError('METRIC_NOT_FOUND', `Metric ${id} not found.`, { metricId: id });
    return snapshot;
  });
  return {
    requested: {
      type: 'RunRescoreRequested',
      data: { runId: command.runId, round: rescore.rounds + 1, metrics, bypassCache: command.bypassCache, numRecords: command.numRecords },
    },
    skippedHuman,
  };
}

/**
 * The run stream's share of a request: one RecordRescoreRequested per record, each a copy of the
 * record with the round and metrics. A function of the request, so a run of a million records can
 * be asked for a page of records at a time.
 */
export function recordRescoreRequests(requested: RunRescoreRequested, records: readonly RescoreRecord[]): RecordRescoreRequested[] {
  const { runId, round, metrics, bypassCache } = requested.data;
  const metricIds = metrics.map((metric) => metric.metricId);
  return records.map((record) => ({
    type: 'RecordRescoreRequested',
    data: {
      runId,
      recordId: record.recordId,
      testcaseId: record.testcaseId,
      inputs: record.inputs ?? null,
      outputs: record.outputs ?? null,
      expected: record.expected ?? null,
      round,
      metricIds,
      bypassCache,
    },
  }));
}
