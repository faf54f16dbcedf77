export type RunStatus = 'PENDING' | 'SCORING' | 'COMPLETED' | 'ERROR';

export interface RunProgress {
  readonly numRecords: number;
  readonly numMetrics: number;
  /** Scores recorded (one per record and metric at most). */
  readonly numScores: number;
  /** (record, metric) pairs whose scoring failed for good. */
  readonly numFailures: number;
}

/**
 * The status users see. ERROR wins as soon as one record's scoring failed for good: the run can no
 * longer be complete. Adding records to a COMPLETED run makes it SCORING again, since the new
 * records lack scores.
 */
export function runStatus(progress: RunProgress): RunStatus {
  if (progress.numFailures > 0) return 'ERROR';
  if (progress.numRecords === 0) return 'PENDING';
  return progress.numScores >= progress.numRecords * progress.numMetrics ? 'COMPLETED' : 'SCORING';
}
