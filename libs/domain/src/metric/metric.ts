import { AssayError, EvalType, HeuristicDefinition, MetricCreated, MetricSnapshot, OutputType } from '@assay/contracts';
import type { Decider } from '../decider/decider';
import { assertValidThreshold, defaultPassingThreshold } from './passing';
import { assertValidHeuristic } from './heuristic-config';

export const metricStreamId = (metricId: string) => `metric-${metricId}`;

export interface CreateMetric {
  readonly type: 'CreateMetric';
  readonly metricId: string;
  readonly projectId: string;
  readonly name: string;
  readonly evalType: EvalType;
  readonly outputType: OutputType;
  readonly heuristic?: HeuristicDefinition | null;
  readonly passingThreshold?: number | null;
}

export type MetricEvent = MetricCreated;
export type MetricState =
  | { readonly exists: false }
  | { readonly exists: true; readonly projectId: string; readonly snapshot: MetricSnapshot };

export const metricDecider: Decider<CreateMetric, MetricState, MetricEvent> = {
  initialState: () => ({ exists: false }),
  decide(command, state) {
    if (state.exists) throw new AssayError('BAD_USER_INPUT', `Metric ${command.metricId} already exists.`);
    const name = command.name.trim();
    if (!name) throw new AssayError('BAD_USER_INPUT', 'A metric needs a name.');
    if (command.evalType === 'HEURISTIC') {
      if (!command.heuristic) {
        throw new AssayError('METRIC_CONFIG_INVALID', 'A HEURISTIC metric needs `heuristic: {kind, …}`.');
      }
      assertValidHeuristic(command.heuristic, command.outputType);
    } else {
      throw new AssayError('METRIC_CONFIG_INVALID', `${command.evalType} metrics are not available yet; use HEURISTIC.`);
    }
    const passingThreshold = command.passingThreshold ?? defaultPassingThreshold(command.outputType);
    assertValidThreshold(command.outputType, passingThreshold);
    return [
      {
        type: 'MetricCreated',
        data: {
          metricId: command.metricId,
          projectId: command.projectId,
          name,
          evalType: command.evalType,
          outputType: command.outputType,
          heuristic: command.heuristic ?? null,
          passingThreshold,
        },
      },
    ];
  },
  evolve(_state, event) {
    const { projectId, metricId, ...definition } = event.data;
    return { exists: true, projectId, snapshot: { metricId, version: 1, ...definition } };
  },
};
