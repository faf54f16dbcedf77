import { MetricSnapshot, RunRescoreRequested, ScoreRecorded } from '@assay/contracts';
import { deciderSpec } from '@assay/testing';
import { recordScoringDecider } from '../record-scoring/record-scoring';
import { currentRunMetrics, decideRescore, evolveRescore, initialRescoreState, recordRescoreRequests, RescoreState } from './rescore';
import { runDecider, RunState } from './run';

const snapshot = (metricId: string, extra: Partial<MetricSnapshot> = {}): MetricSnapshot => ({
  metricId,
  version: 1,
  name: metricId,
  evalType: 'AI',
  outputType: 'INT',
  passingThreshold: 4,
  promptTemplate: 'Rate {{ outputs }}',
  ...extra,
});
const judge = snapshot('judge');
const exact = snapshot('exact', { evalType: 'HEURISTIC', outputType: 'BOOLEAN', passingThreshold: 1, heuristic: { kind: 'EXACT_MATCH' }, promptTemplate: null });
const review = snapshot('review', { evalType: 'HUMAN', promptTemplate: null });

const run: RunState = runDecider.evolve(runDecider.initialState(), { type: 'RunCreated', data: { runId: 'r1', projectId: 'p1', notes: '', metrics: [judge, exact, review] } });
const records = [
  { recordId: 'a', testcaseId: 'tc-1', inputs: { q: 1 }, outputs: { answer: 'x' }, expected: null },
  { recordId: 'b', testcaseId: null, inputs: null, outputs: { answer: 'y' }, expected: { answer: 'y' } },
];

describe('rescoreRun decisions', () => {
  it('re-scores every automatic metric by default, at its latest version, in round 1, one event per record', () => {
    const decision = decideRescore(
      { type: 'RescoreRun', runId: 'r1', latest: [{ ...judge, version: 3 }, exact], numRecords: 2, bypassCache: false },
      run,
      initialRescoreState(),
    );
    expect(decision.requested).toEqual({
      type: 'RunRescoreRequested',
      data: { runId: 'r1', round: 1, metrics: [{ ...judge, version: 3 }, exact], bypassCache: false, numRecords: 2 },
    });
    expect(recordRescoreRequests(decision.requested, records).map((e) => e.data)).toEqual([
      { runId: 'r1', recordId: 'a', testcaseId: 'tc-1', inputs: { q: 1 }, outputs: { answer: 'x' }, expected: null, round: 1, metricIds: ['judge', 'exact'], bypassCache: false },
      { runId: 'r1', recordId: 'b', testcaseId: null, inputs: null, outputs: { answer: 'y' }, expected: { answer: 'y' }, round: 1, metricIds: ['judge', 'exact'], bypassCache: false },
    ]);
    expect(decision.skippedHuman).toEqual([]);
  });

  it('skips HUMAN metrics (human scores are never replaced), and refuses a request with nothing else', () => {
    const decision = decideRescore({ type: 'RescoreRun', runId: 'r1', metricIds: ['review', 'judge', 'judge'], latest: [judge], numRecords: 2, bypassCache: true }, run, initialRescoreState());
    expect(decision.requested.data.metrics.map((m) => m.metricId)).toEqual(['judge']);
    expect(decision.skippedHuman).toEqual(['review']);
    expect(() => decideRescore({ type: 'RescoreRun', runId: 'r1', metricIds: ['review'], latest: [], numRecords: 2, bypassCache: false }, run, initialRescoreState())).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT' }),
    );
  });

  it('refuses a metric the run does not have, and a run that does not exist', () => {
    expect(() => decideRescore({ type: 'RescoreRun', runId: 'r1', metricIds: ['other'], latest: [], numRecords: 2, bypassCache: false }, run, initialRescoreState())).toThrow(
      expect.objectContaining({ code: 'METRIC_NOT_FOUND' }),
    );
    expect(() => decideRescore({ type: 'RescoreRun', runId: 'r2', latest: [], numRecords: 0, bypassCache: false }, runDecider.initialState(), initialRescoreState())).toThrow(
      expect.objectContaining({ code: 'RUN_NOT_FOUND' }),
    );
  });

  it('numbers rounds on, and the run then scores each metric at its latest pin and round', () => {
    const first: RunRescoreRequested = { type: 'RunRescoreRequested', data: { runId: 'r1', round: 1, metrics: [{ ...judge, version: 2 }], bypassCache: false, numRecords: 2 } };
    const state: RescoreState = evolveRescore(initialRescoreState(), first);
    const decision = decideRescore({ type: 'RescoreRun', runId: 'r1', metricIds: ['exact'], latest: [exact], numRecords: 2, bypassCache: false }, run, state);
    expect(decision.requested.data.round).toBe(2);
    const after = evolveRescore(state, decision.requested);
    expect(currentRunMetrics(run.exists ? run.metrics : [], after).map((pin) => [pin.snapshot.metricId, pin.snapshot.version, pin.round])).toEqual([
      ['judge', 2, 1],
      ['exact', 1, 2],
      ['review', 1, 0],
    ]);
  });
});

describe('record scoring across re-score rounds', () => {
  const spec = deciderSpec(recordScoringDecider);
  const ids = { runId: 'r1', recordId: 'a' };
  const scored = (value: number, round?: number): ScoreRecorded => ({
    type: 'ScoreRecorded',
    data: { ...ids, metricId: 'judge', metricVersion: 1, ...(round ? { round } : {}), value, passed: value >= 4, reasoning: 'r' },
  });
  const usage = { model: 'gpt-4o-mini', tokens: { prompt: 120, completion: 20 }, cost: 0.00003, cached: false };

  it('a new round scores the same metric version again, once; the judge usage travels with the score', () => {
    spec
      .given([scored(3)])
      .when({ type: 'RecordScore', ...ids, metric: judge, value: 5, reasoning: 'r', round: 1, judge: usage })
      .then([{ type: 'ScoreRecorded', data: { ...ids, metricId: 'judge', metricVersion: 1, round: 1, judge: usage, value: 5, passed: true, reasoning: 'r' } }]);
    spec.given([scored(3), scored(5, 1)]).when({ type: 'RecordScore', ...ids, metric: judge, value: 2, reasoning: 'again', round: 1 }).then([]);
    // A late outcome of round 0 is still recorded once, as before re-scoring existed.
    spec.given([scored(5, 1)]).when({ type: 'RecordScore', ...ids, metric: judge, value: 2, reasoning: 'late' }).then([scored(2)].map((e) => ({ ...e, data: { ...e.data, reasoning: 'late', passed: false } })));
  });

  it('a failure of a round carries its round and what the judge calls cost', () =>
    spec
      .given([])
      .when({ type: 'RecordScoringFailure', ...ids, metric: judge, code: 'JUDGE_OUTPUT_INVALID', reason: 'raw: "maybe"', attempts: 1, round: 2, judge: usage })
      .then([{ type: 'ScoringFailed', data: { ...ids, metricId: 'judge', metricVersion: 1, round: 2, judge: usage, code: 'JUDGE_OUTPUT_INVALID', reason: 'raw: "maybe"', attempts: 1 } }]));
});
