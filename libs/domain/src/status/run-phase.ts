import type { RunSource } from '@assay/contracts';
import { automaticScoringDone, numAwaitingHuman, RunProgress } from './run-status';

/**
 * Where a run is in its life, beside its four-value status (issue 4):
 * - AWAITING_EXECUTION: no output yet (a kickoff whose executions have not started; a run made
 *   with createRun that has no records yet);
 * - EXECUTING: the server is still running the system for some (testcase, trial) of the run;
 * - SCORING: a record lacks an outcome from an automatic metric;
 * - AWAITING_HUMAN: only scores a person gives (HUMAN metrics) are missing;
 * - DONE: nothing is left to do (whether every outcome is a score or some failed: see status).
 */
export type RunPhase = 'AWAITING_EXECUTION' | 'EXECUTING' | 'SCORING' | 'AWAITING_HUMAN' | 'DONE';

export interface RunPhaseProgress extends RunProgress {
  /** Absent: API. */
  readonly source?: RunSource | null;
  /** For runs the server executes: testcases × trials. */
  readonly numExpectedRecords?: number | null;
}

/** Whether the server executes the run's system (kickoffRun), as opposed to a client sending records. */
export function isServerExecuted(source: RunSource | null | undefined): boolean {
  return source === 'KICKOFF' || source === 'PLAYGROUND';
}

/** Executions of a server-executed run that have neither a record nor a failure yet (0 for other runs). */
export function numAwaitingExecution(progress: Pick<RunPhaseProgress, 'source' | 'numExpectedRecords' | 'numRecords' | 'numExecutionFailures'>): number {
  if (!isServerExecuted(progress.source)) return 0;
  return Math.max(0, (progress.numExpectedRecords ?? 0) - progress.numRecords - (progress.numExecutionFailures ?? 0));
}

export function runPhase(progress: RunPhaseProgress): RunPhase {
  const executed = progress.numRecords + (progress.numExecutionFailures ?? 0);
  if (executed === 0) return 'AWAITING_EXECUTION';
  if (numAwaitingExecution(progress) > 0) return 'EXECUTING';
  if (!automaticScoringDone(progress)) return 'SCORING';
  if (numAwaitingHuman(progress) > 0) return 'AWAITING_HUMAN';
  return 'DONE';
}
