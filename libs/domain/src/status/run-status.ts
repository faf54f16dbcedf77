export type RunStatus = 'PENDING' | 'SCORING' | 'COMPLETED' | 'ERROR';

export interface RunProgress {
  readonly numRecords: number;
  readonly numMetrics: number;
  /** Scores recorded (one per record and metric at most). */
  readonly numScores: number;
  /** (record, metric) pairs whose scoring failed for good. */
  readonly numFailures: number;
  /** HUMAN metrics among numMetrics (issue 4; absent: none). */
  readonly numHumanMetrics?: number;
  /** Human scores among numScores, one per record and HUMAN metric at most (absent: none). */
  readonly numHumanScores?: number;
  /** Runs the server executes (issue 4): executions that failed for good (absent: none). */
  readonly numExecutionFailures?: number;
  /** Runs the server executes: executions not yet recorded as a record or a failure (absent: none). */
  readonly numAwaitingExecution?: number;
}

/**
 * (record, HUMAN metric) pairs still waiting for a person. With automatic scoring done and this
 * above zero, the run waits for human review (phase AWAITING_HUMAN).
 */
export function numAwaitingHuman(progress: RunProgress): number {
  return Math.max(0, progress.numRecords * (progress.numHumanMetrics ?? 0) - (progress.numHumanScores ?? 0));
}

/** Whether every record has an outcome from every automatic (non-HUMAN) metric. */
export function automaticScoringDone(progress: RunProgress): boolean {
  const automaticMetrics = progress.numMetrics - (progress.numHumanMetrics ?? 0);
  return progress.numScores - (progress.numHumanScores ?? 0) + progress.numFailures >= progress.numRecords * automaticMetrics;
}

/**
 * The status users see. ERROR wins as soon as one record's scoring failed for good: the run can no
 * longer be complete. Adding records to a COMPLETED run makes it SCORING again, since the new
 * records lack scores.
 */
export function runStatus(progress: RunProgress): RunStatus {
  if (progress.numFailures > 0 || (progress.numExecutionFailures ?? 0) > 0) return 'ERROR';
  if (progress.numRecords === 0) return 'PENDING';
  // A run the server executes is complete only once every execution has its record.
  if ((progress.numAwaitingExecution ?? 0) > 0) return 'SCORING';
  // A run with HUMAN metrics stays SCORING until a person has scored every record for each of them.
  const automaticScored = progress.numScores - (progress.numHumanScores ?? 0);
  const automaticMetrics = progress.numMetrics - (progress.numHumanMetrics ?? 0);
  return automaticScored >= progress.numRecords * automaticMetrics && numAwaitingHuman(progress) === 0 ? 'COMPLETED' : 'SCORING';
}
