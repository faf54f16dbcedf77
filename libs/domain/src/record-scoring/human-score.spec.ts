import { HumanScoreCorrected, MetricSnapshot, ScoreRecorded, ScoringFailed } from '@assay/contracts';
import { deciderSpec } from '@assay/testing';
import { SubmitHumanScore } from './human-score';
import { recordScoringDecider } from './record-scoring';

const tone: MetricSnapshot = { metricId: 'tone', version: 2, name: 'tone', evalType: 'HUMAN', outputType: 'INT', heuristic: null, passingThreshold: 4 };
const correct: MetricSnapshot = { metricId: 'ok', version: 1, name: 'correct', evalType: 'HUMAN', outputType: 'BOOLEAN', heuristic: null, passingThreshold: 1 };
const close: MetricSnapshot = { metricId: 'close', version: 1, name: 'close', evalType: 'HUMAN', outputType: 'FLOAT', heuristic: null, passingThreshold: 0.9 };
const judge: MetricSnapshot = { metricId: 'judge', version: 1, name: 'helpful', evalType: 'AI', outputType: 'INT', heuristic: null, passingThreshold: 4, promptTemplate: 'x' };
const ids = { runId: 'r1', recordId: 'rec1' };

const submit = (metric: MetricSnapshot, value: number, reasoning = 'why', scoredBy = 'key1'): SubmitHumanScore => ({
  type: 'SubmitHumanScore',
  ...ids,
  metric,
  value,
  reasoning,
  scoredBy,
});
const humanScored = (metric: MetricSnapshot, value: number, passed: boolean, reasoning = 'why', scoredBy = 'key1'): ScoreRecorded => ({
  type: 'ScoreRecorded',
  data: { ...ids, metricId: metric.metricId, metricVersion: metric.version, value, passed, reasoning, source: 'HUMAN', scoredBy },
});

const spec = deciderSpec(recordScoringDecider);

describe('record scoring decider: human scores', () => {
  it('records a person\'s score as a HUMAN ScoreRecorded with who scored, passed from the threshold', () => {
    spec.given([]).when(submit(tone, 4)).then([humanScored(tone, 4, true)]);
    spec.given([]).when(submit(tone, 3, 'meh', 'key2')).then([humanScored(tone, 3, false, 'meh', 'key2')]);
  });

  it('takes BOOLEAN scores as 1 (true, passes) and 0 (false), FLOAT from 0 to 1', () => {
    spec.given([]).when(submit(correct, 1)).then([humanScored(correct, 1, true)]);
    spec.given([]).when(submit(correct, 0)).then([humanScored(correct, 0, false)]);
    spec.given([]).when(submit(close, 0.95)).then([humanScored(close, 0.95, true)]);
    spec.given([]).when(submit(close, 0)).then([humanScored(close, 0, false)]);
  });

  it('corrects a score: an event with the previous value, by whoever corrected it', () => {
    const corrected: HumanScoreCorrected = {
      type: 'HumanScoreCorrected',
      data: {
        ...ids,
        metricId: 'tone',
        metricVersion: 2,
        value: 2,
        passed: false,
        reasoning: 'rude after all',
        previousValue: 5,
        previousPassed: true,
        previousReasoning: 'why',
        correctedBy: 'key2',
      },
    };
    spec.given([humanScored(tone, 5, true)]).when(submit(tone, 2, 'rude after all', 'key2')).then([corrected]);
    // A second correction starts from the first one's value.
    spec
      .given([humanScored(tone, 5, true), corrected])
      .when(submit(tone, 4, 'fine', 'key1'))
      .then([
        {
          type: 'HumanScoreCorrected',
          data: { ...corrected.data, value: 4, passed: true, reasoning: 'fine', previousValue: 2, previousPassed: false, previousReasoning: 'rude after all', correctedBy: 'key1' },
        },
      ]);
  });

  it('changes only the reasoning when that is all that changed; the very same score again is nothing', () => {
    const events = spec.given([humanScored(tone, 5, true)]).when(submit(tone, 5, 'better words')).result();
    expect(events).toEqual([
      expect.objectContaining({ type: 'HumanScoreCorrected', data: expect.objectContaining({ value: 5, previousValue: 5, reasoning: 'better words', previousReasoning: 'why' }) }),
    ]);
    spec.given([humanScored(tone, 5, true)]).when(submit(tone, 5)).then([]);
  });

  it('refuses a metric that is not HUMAN', () => {
    spec.given([]).when(submit(judge, 4)).thenThrows('BAD_USER_INPUT');
    expect(() => spec.given([]).when(submit(judge, 4)).result()).toThrow(/HUMAN metrics only/);
  });

  it.each([
    [tone, 0],
    [tone, 6],
    [tone, 4.5],
    [correct, 0.5],
    [correct, 2],
    [close, 1.01],
    [close, -0.1],
    [close, Number.NaN],
  ])('refuses a value out of range for the output type (%#: %p)', (metric, value) => {
    spec.given([]).when(submit(metric, value)).thenThrows('BAD_USER_INPUT');
    // Nor does it correct to one.
    spec.given([humanScored(metric, metric.outputType === 'INT' ? 4 : 1, true)]).when(submit(metric, value)).thenThrows('BAD_USER_INPUT');
  });

  it('refuses an over-long reasoning and a score without who scored it', () => {
    spec.given([]).when(submit(tone, 4, 'x'.repeat(20_001))).thenThrows('BAD_USER_INPUT');
    spec.given([]).when(submit(tone, 4, 'why', '')).thenThrows('BAD_USER_INPUT');
  });

  describe('no automatic outcome ever replaces a human score (re-scoring, redelivery)', () => {
    const automatic = (metric: MetricSnapshot, value: number) => ({ type: 'RecordScore' as const, ...ids, metric, value, reasoning: 'judge' });
    const failure = (metric: MetricSnapshot) => ({ type: 'RecordScoringFailure' as const, ...ids, metric, code: 'X', reason: 'y', attempts: 1 });

    it('ignores an automatic score or failure for a human-scored metric, at its version or any other', () => {
      const given = [humanScored(tone, 5, true)];
      spec.given(given).when(automatic(tone, 1)).then([]);
      spec.given(given).when(automatic({ ...tone, version: 3, evalType: 'AI' }, 1)).then([]);
      spec.given(given).when(failure({ ...tone, version: 3 })).then([]);
    });

    it('ignores automatic outcomes for a HUMAN metric not scored yet: a person scores it', () => {
      spec.given([]).when(automatic(tone, 3)).then([]);
      spec.given([]).when(failure(tone)).then([]);
    });

    it('still scores the record\'s automatic metrics beside its human score', () =>
      spec
        .given([humanScored(tone, 5, true)])
        .when(automatic(judge, 5))
        .then([{ type: 'ScoreRecorded', data: { ...ids, metricId: 'judge', metricVersion: 1, value: 5, passed: true, reasoning: 'judge' } }]));

    it('keeps the corrected score, not the first one, as the one that stands', () => {
      const state = [humanScored(tone, 5, true), ...spec.given([humanScored(tone, 5, true)]).when(submit(tone, 1, 'no')).result()];
      spec.given(state).when(automatic(tone, 5)).then([]);
      spec.given(state).when(submit(tone, 1, 'no')).then([]);
    });

    it('does not let a person overwrite an outcome a worker recorded', () => {
      const failed: ScoringFailed = { type: 'ScoringFailed', data: { ...ids, metricId: 'tone', metricVersion: 2, code: 'X', reason: 'y', attempts: 1 } };
      spec.given([failed]).when(submit(tone, 4)).thenThrows('BAD_USER_INPUT');
    });
  });
});
