import { MetricSnapshot, RecordAdded, RunCreated } from '@assay/contracts';
import { deciderSpec } from '@assay/testing';
import { runDecider } from './run';

const exact: MetricSnapshot = {
  metricId: 'm1',
  version: 1,
  name: 'exact',
  evalType: 'HEURISTIC',
  outputType: 'BOOLEAN',
  heuristic: { kind: 'EXACT_MATCH' },
  passingThreshold: 1,
};
const runCreated: RunCreated = { type: 'RunCreated', data: { runId: 'r1', projectId: 'p1', notes: '', metrics: [exact] } };
const record = (n: number) => ({ recordId: `rec${n}`, testcaseId: `tc${n}`, inputs: { q: n }, outputs: { a: n }, expected: { a: n } });
const recordAdded = (n: number): RecordAdded => ({ type: 'RecordAdded', data: { runId: 'r1', ...record(n) } });

const spec = deciderSpec(runDecider);

describe('run decider', () => {
  it('creates a run with its pinned metrics', () =>
    spec.given([]).when({ type: 'CreateRun', runId: 'r1', projectId: 'p1', notes: '', metrics: [exact] }).then([runCreated]));

  it('refuses a run without metrics', () =>
    spec.given([]).when({ type: 'CreateRun', runId: 'r1', projectId: 'p1', notes: '', metrics: [] }).thenThrows('BAD_USER_INPUT'));

  it('refuses to create the same run twice', () =>
    spec.given([runCreated]).when({ type: 'CreateRun', runId: 'r1', projectId: 'p1', notes: '', metrics: [exact] }).thenThrows('BAD_USER_INPUT'));

  it('refuses a metric listed twice', () =>
    spec.given([]).when({ type: 'CreateRun', runId: 'r1', projectId: 'p1', notes: '', metrics: [exact, exact] }).thenThrows('BAD_USER_INPUT'));

  it('adds one RecordAdded per record, in order', () =>
    spec.given([runCreated]).when({ type: 'AddRecords', runId: 'r1', records: [record(1), record(2)] }).then([recordAdded(1), recordAdded(2)]));

  it('adds records to a run that already has some (a completed run takes more)', () =>
    spec.given([runCreated, recordAdded(1)]).when({ type: 'AddRecords', runId: 'r1', records: [record(2)] }).then([recordAdded(2)]));

  it('refuses records for a run that does not exist', () =>
    spec.given([]).when({ type: 'AddRecords', runId: 'r1', records: [record(1)] }).thenThrows('RUN_NOT_FOUND'));

  it('refuses more than 1,000 records in one call, adding none', () =>
    spec
      .given([runCreated])
      .when({ type: 'AddRecords', runId: 'r1', records: Array.from({ length: 1001 }, (_, i) => record(i)) })
      .thenThrows('TOO_MANY_RECORDS'));

  it('stores absent inputs, outputs and expected as null', () =>
    spec
      .given([runCreated])
      .when({ type: 'AddRecords', runId: 'r1', records: [{ recordId: 'x', testcaseId: null, inputs: undefined, outputs: 'hi', expected: undefined }] })
      .then([{ type: 'RecordAdded', data: { runId: 'r1', recordId: 'x', testcaseId: null, inputs: null, outputs: 'hi', expected: null } }]));

  it('binds a run to a testset (with its size) and a system version', () =>
    spec
      .given([])
      .when({ type: 'CreateRun', runId: 'r1', projectId: 'p1', notes: '', metrics: [exact], testset: { testsetId: 't1', size: 3 }, systemVersionId: 'sv1' })
      .then([{ type: 'RunCreated', data: { ...runCreated.data, testsetId: 't1', numExpectedRecords: 3, systemVersionId: 'sv1' } }]));

  it('records of a testset run may carry a testcase id of that testset, and no other', () => {
    const bound: RunCreated = { type: 'RunCreated', data: { ...runCreated.data, testsetId: 't1', numExpectedRecords: 2 } };
    const known = new Set(['tc1']);
    spec.given([bound]).when({ type: 'AddRecords', runId: 'r1', records: [record(1)], testcasesOfTestset: known }).then([recordAdded(1)]);
    spec
      .given([bound])
      .when({ type: 'AddRecords', runId: 'r1', records: [{ ...record(3), testcaseId: null }], testcasesOfTestset: known })
      .then([{ type: 'RecordAdded', data: { runId: 'r1', ...record(3), testcaseId: null } }]);
    spec.given([bound]).when({ type: 'AddRecords', runId: 'r1', records: [record(1), record(2)], testcasesOfTestset: known }).thenThrows('TESTCASE_NOT_FOUND');
    // A run without a testset keeps testcase ids free-form.
    spec.given([runCreated]).when({ type: 'AddRecords', runId: 'r1', records: [record(2)] }).then([recordAdded(2)]);
  });

  it('updates notes, and an unchanged note appends nothing', () => {
    spec.given([runCreated]).when({ type: 'UpdateRunNotes', runId: 'r1', notes: 'baseline' }).then([
      { type: 'RunNotesUpdated', data: { runId: 'r1', notes: 'baseline' } },
    ]);
    spec.given([runCreated, { type: 'RunNotesUpdated', data: { runId: 'r1', notes: 'baseline' } }])
      .when({ type: 'UpdateRunNotes', runId: 'r1', notes: 'baseline' })
      .then([]);
  });
});
