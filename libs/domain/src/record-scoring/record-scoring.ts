import { AssayError, HumanScoreCorrected, JudgeUsage, MetricSnapshot, ScoreRecorded, ScoringFailed } from '@assay/contracts';
import type { Decider } from '../decider/decider';
import { assertValidScoreValue, isPassing } from '../metric/passing';
import { decideHumanScore, HumanScore, SubmitHumanScore } from './human-score';

/**
 * Scores live in one stream per record, not in the run's stream: the workers scoring a run's
 * records then never contend for one stream version, and a (record, metric) pair is decided in
 * exactly one place, which makes a redelivered record a no-op instead of a second score.
 */
export const recordStreamId = (recordId: string) => `record-${recordId}`;

export interface RecordScore {
  readonly type: 'RecordScore';
  readonly runId: string;
  readonly recordId: string;
  readonly metric: MetricSnapshot;
  readonly value: number;
  readonly reasoning: string;
  /** The re-score round (issue 4; absent: 0): a round decides each (record, metric version) once. */
  readonly round?: number;
  /** The LLM judge calls behind the score (AI metrics). */
  readonly judge?: JudgeUsage;
}

export interface RecordScoringFailure {
  readonly type: 'RecordScoringFailure';
  readonly runId: string;
  readonly recordId: string;
  readonly metric: MetricSnapshot;
  readonly code: string;
  readonly reason: string;
  readonly attempts: number;
  /** The re-score round (issue 4; absent: 0). */
  readonly round?: number;
  /** Judge calls made before the failure (their cost counts too). */
  readonly judge?: JudgeUsage;
}

export type RecordScoringCommand = RecordScore | RecordScoringFailure | SubmitHumanScore;
export type RecordScoringEvent = ScoreRecorded | ScoringFailed | HumanScoreCorrected;

export type MetricOutcome = 'scored' | 'failed';

/** Per metric id (and version), the outcome already recorded for this record. */
export interface RecordScoringState {
  readonly outcomes: Readonly<Record<string, MetricOutcome>>;
  /** Per metric id, the person's current score (issue 4): no automatic outcome ever replaces it. */
  readonly human: Readonly<Record<string, HumanScore>>;
}

/** Round 0 (the run's first scoring) keeps the key outcomes had before re-scoring existed. */
const outcomeKey = (metricId: string, metricVersion: number, round = 0) => (round > 0 ? `${metricId}@${metricVersion}#${round}` : `${metricId}@${metricVersion}`);

/** The outcome recorded for (metric version, re-score round), if any. */
export function outcomeOf(state: RecordScoringState, metric: Pick<MetricSnapshot, 'metricId' | 'version'>, round = 0) {
  return state.outcomes[outcomeKey(metric.metricId, metric.version, round)];
}

export const recordScoringDecider: Decider<RecordScoringCommand, RecordScoringState, RecordScoringEvent> = {
  initialState: () => ({ outcomes: {}, human: {} }),

  decide(command, state) {
    if (command.type === 'SubmitHumanScore') {
      return decideHumanScore(command, state.human[command.metric.metricId], outcomeOf(state, command.metric) !== undefined);
    }
    // HUMAN metrics are a person's: no worker, judge or re-score records an outcome for them, and a
    // human score stands whatever version of its metric an automatic outcome names.
    if (command.metric.evalType === 'HUMAN' || state.human[command.metric.metricId]) return [];
    // At-least-once delivery: the same record may be scored twice. The first outcome of a
    // (metric version, round) stands; a re-score (rescoreRun) is a new round.
    if (outcomeOf(state, command.metric, command.round ?? 0)) return [];
    const { runId, recordId, metric } = command;
    const ids = {
      runId,
      recordId,
      metricId: metric.metricId,
      metricVersion: metric.version,
      ...(command.round ? { round: command.round } : {}),
      ...(command.judge ? { judge: command.judge } : {}),
    };
    if (command.type === 'RecordScore') {
      assertValidScoreValue(metric.outputType, command.value);
      return [
        {
          type: 'ScoreRecorded',
          data: {
            ...ids,
            value: command.value,
            passed: isPassing(metric.outputType, metric.passingThreshold, command.value),
            reasoning: command.reasoning,
          },
        },
      ];
    }
    if (!command.reason) throw new AssayError('BAD_USER_INPUT', 'A scoring failure needs a reason.');
    return [{ type: 'ScoringFailed', data: { ...ids, code: command.code, reason: command.reason, attempts: command.attempts } }];
  },

  evolve(state, event) {
    if (event.type === 'HumanScoreCorrected') {
      const { metricId, metricVersion, value, passed, reasoning, correctedBy } = event.data;
      return { ...state, human: { ...state.human, [metricId]: { metricVersion, value, passed, reasoning, scoredBy: correctedBy } } };
    }
    const outcome: MetricOutcome = event.type === 'ScoreRecorded' ? 'scored' : 'failed';
    const outcomes = { ...state.outcomes, [outcomeKey(event.data.metricId, event.data.metricVersion, event.data.round ?? 0)]: outcome };
    if (event.type === 'ScoreRecorded' && event.data.source === 'HUMAN') {
      const { metricId, metricVersion, value, passed, reasoning, scoredBy } = event.data;
      return { outcomes, human: { ...state.human, [metricId]: { metricVersion, value, passed, reasoning, scoredBy: scoredBy ?? '' } } };
    }
    return { ...state, outcomes };
  },
};
