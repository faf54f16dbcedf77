import { MetricSnapshot, ScoreRecorded } from '@assay/contracts';
import { deciderSpec } from '@assay/testing';
import { recordScoringDecider } from './record-scoring';

const similarity: MetricSnapshot = {
  metricId: 'sim',
  version: 1,
  name: 'similarity',
  evalType: 'HEURISTIC',
  outputType: 'FLOAT',
  heuristic: { kind: 'LEVENSHTEIN' },
  passingThreshold: 0.8,
};
const ids = { runId: 'r1', recordId: 'rec1' };
const scored = (value: number, passed: boolean): ScoreRecorded => ({
  type: 'ScoreRecorded',
  data: { ...ids, metricId: 'sim', metricVersion: 1, value, passed, reasoning: 'r' },
});

const spec = deciderSpec(recordScoringDecider);

describe('record scoring decider', () => {
  it('records a passing score at the threshold', () =>
    spec.given([]).when({ type: 'RecordScore', ...ids, metric: similarity, value: 0.8, reasoning: 'r' }).then([scored(0.8, true)]));

  it('records a failing score below the threshold', () =>
    spec.given([]).when({ type: 'RecordScore', ...ids, metric: similarity, value: 0.79, reasoning: 'r' }).then([scored(0.79, false)]));

  it('ignores a second score for the same record and metric version (redelivery)', () =>
    spec.given([scored(0.9, true)]).when({ type: 'RecordScore', ...ids, metric: similarity, value: 0.1, reasoning: 'again' }).then([]));

  it('scores a new version of the metric separately', () =>
    spec
      .given([scored(0.9, true)])
      .when({ type: 'RecordScore', ...ids, metric: { ...similarity, version: 2 }, value: 0.5, reasoning: 'v2' })
      .then([{ type: 'ScoreRecorded', data: { ...ids, metricId: 'sim', metricVersion: 2, value: 0.5, passed: false, reasoning: 'v2' } }]));

  it('refuses a value outside the output type range', () =>
    spec.given([]).when({ type: 'RecordScore', ...ids, metric: similarity, value: 1.5, reasoning: '' }).thenThrows('BAD_USER_INPUT'));

  it('records a failure once, and a later score does not override it', () => {
    const failure = { type: 'RecordScoringFailure' as const, ...ids, metric: similarity, code: 'MAX_DELIVERIES_EXCEEDED', reason: 'db down', attempts: 5 };
    spec.given([]).when(failure).then([
      { type: 'ScoringFailed', data: { ...ids, metricId: 'sim', metricVersion: 1, code: 'MAX_DELIVERIES_EXCEEDED', reason: 'db down', attempts: 5 } },
    ]);
    spec
      .given([{ type: 'ScoringFailed', data: { ...ids, metricId: 'sim', metricVersion: 1, code: 'X', reason: 'y', attempts: 1 } }])
      .when({ type: 'RecordScore', ...ids, metric: similarity, value: 1, reasoning: '' })
      .then([]);
  });
});
