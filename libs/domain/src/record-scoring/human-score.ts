import { AssayError, HumanScoreCorrected, MetricSnapshot, OutputType, ScoreRecorded } from '@assay/contracts';
import { isPassing, valueRange } from '../metric/passing';

/**
 * A person's score for a HUMAN metric of a record (issue 4, human review). The first one is a
 * ScoreRecorded with `source: 'HUMAN'`; any later one for the same (record, metric) corrects it
 * (HumanScoreCorrected, with the previous value), so the read models move by the difference.
 */
export interface SubmitHumanScore {
  readonly type: 'SubmitHumanScore';
  readonly runId: string;
  readonly recordId: string;
  /** The metric as the record's run pinned it (the handler looks it up in the run). */
  readonly metric: MetricSnapshot;
  /** BOOLEAN: 1 (true, passes) or 0 (false); INT: 1 to 5; FLOAT: 0 to 1. */
  readonly value: number;
  readonly reasoning: string;
  /** Who scores: the id of the API key that submitted it. */
  readonly scoredBy: string;
}

/** A record's current human score for one metric (after any corrections). */
export interface HumanScore {
  readonly metricVersion: number;
  readonly value: number;
  readonly passed: boolean;
  readonly reasoning: string;
  readonly scoredBy: string;
}

/** Longest reasoning a person may give (events stay well under the bus's message limit). */
export const MAX_HUMAN_REASONING_LENGTH = 20_000;

export function assertHumanScoreValue(outputType: OutputType, value: number): void {
  const { min, max, integer } = valueRange(outputType);
  if (Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value))) return;
  const expected =
    outputType === 'BOOLEAN' ? '1 (true: passes) or 0 (false)' : outputType === 'INT' ? 'an integer from 1 to 5' : 'a number from 0 to 1';
  throw new AssayError('BAD_USER_INPUT', `Score ${value} is not a valid ${outputType} value: send ${expected}.`, { field: 'value', outputType, min, max });
}

/**
 * Decides a person's score. `current` is the record's human score for the metric, if any;
 * `hasAutomaticOutcome` says whether something other than a person already decided this
 * (record, metric version), which a person's score must not overwrite.
 */
export function decideHumanScore(
  command: SubmitHumanScore,
  current: HumanScore | undefined,
  hasAutomaticOutcome: boolean,
): (ScoreRecorded | HumanScoreCorrected)[] {
  const { runId, recordId, metric, value, reasoning, scoredBy } = command;
  if (metric.evalType !== 'HUMAN') {
    throw new AssayError(
      'BAD_USER_INPUT',
      `Metric "${metric.name}" (${metric.metricId}) is scored automatically (${metric.evalType}): submitScore takes scores of HUMAN metrics only.`,
      { field: 'metricId', metricId: metric.metricId, evalType: metric.evalType },
    );
  }
  assertHumanScoreValue(metric.outputType, value);
  if (reasoning.length > MAX_HUMAN_REASONING_LENGTH) {
    throw new AssayError('BAD_USER_INPUT', `reasoning is limited to ${MAX_HUMAN_REASONING_LENGTH} characters; shorten it.`, { field: 'reasoning' });
  }
  if (!scoredBy) throw new AssayError('BAD_USER_INPUT', 'A human score needs who scored it (scoredBy).');
  const passed = isPassing(metric.outputType, metric.passingThreshold, value);
  if (!current) {
    if (hasAutomaticOutcome) {
      throw new AssayError('BAD_USER_INPUT', `Record ${recordId} already has an outcome for metric ${metric.metricId} v${metric.version} that a person did not give; it cannot be scored by hand.`, {
        field: 'metricId',
      });
    }
    return [
      {
        type: 'ScoreRecorded',
        data: { runId, recordId, metricId: metric.metricId, metricVersion: metric.version, value, passed, reasoning, source: 'HUMAN', scoredBy },
      },
    ];
  }
  // The same score again (a retried call) changes nothing.
  if (current.value === value && current.reasoning === reasoning) return [];
  return [
    {
      type: 'HumanScoreCorrected',
      data: {
        runId,
        recordId,
        metricId: metric.metricId,
        metricVersion: current.metricVersion,
        value,
        passed,
        reasoning,
        previousValue: current.value,
        previousPassed: current.passed,
        previousReasoning: current.reasoning,
        correctedBy: scoredBy,
      },
    },
  ];
}
