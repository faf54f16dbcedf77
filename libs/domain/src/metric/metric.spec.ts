import { deciderSpec } from '@assay/testing';
import { CreateMetric, metricDecider } from './metric';

const create = (overrides: Partial<CreateMetric>): CreateMetric => ({
  type: 'CreateMetric',
  metricId: 'm1',
  projectId: 'p1',
  name: 'answer matches',
  evalType: 'HEURISTIC',
  outputType: 'BOOLEAN',
  heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
  ...overrides,
});
const spec = deciderSpec(metricDecider);

describe('metric decider', () => {
  it('creates a heuristic metric with the default threshold of its output type', () =>
    spec.given([]).when(create({ outputType: 'FLOAT', heuristic: { kind: 'LEVENSHTEIN' } })).then([
      {
        type: 'MetricCreated',
        data: {
          metricId: 'm1',
          projectId: 'p1',
          name: 'answer matches',
          evalType: 'HEURISTIC',
          outputType: 'FLOAT',
          heuristic: { kind: 'LEVENSHTEIN' },
          passingThreshold: 0.9,
        },
      },
    ]));

  it('refuses a regex that does not compile', () =>
    spec.given([]).when(create({ heuristic: { kind: 'REGEX', params: { pattern: '(' } } })).thenThrows('METRIC_CONFIG_INVALID'));

  it('refuses an output type the heuristic cannot produce', () =>
    spec.given([]).when(create({ outputType: 'INT' })).thenThrows('METRIC_CONFIG_INVALID'));

  it('refuses a threshold out of range', () =>
    spec.given([]).when(create({ outputType: 'FLOAT', heuristic: { kind: 'LEVENSHTEIN' }, passingThreshold: 1.5 })).thenThrows('BAD_USER_INPUT'));

  it('refuses a heuristic metric without a heuristic', () =>
    spec.given([]).when(create({ heuristic: null })).thenThrows('METRIC_CONFIG_INVALID'));
});
