import { AssayError, EvalType, HeuristicDefinition, MetricCreated, MetricSnapshot, MetricUpdated, OutputType } from '@assay/contracts';
import type { Decider } from '../decider/decider';
import { definitionOf, MetricDefinition, normalizeMetricDefinition } from './definition';

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
  readonly description?: string | null;
  readonly guidelines?: string | null;
  readonly promptTemplate?: string | null;
  readonly evalModelName?: string | null;
  readonly temperature?: number | null;
}

/**
 * The fields a new version may change. Absent (undefined): keep the current value; null: back to
 * the default (threshold of the output type, empty description and guidelines, no model or
 * temperature). evalType and outputType are what the metric is: a different one is a new metric.
 */
export interface MetricChanges {
  readonly name?: string | null;
  readonly description?: string | null;
  readonly guidelines?: string | null;
  readonly passingThreshold?: number | null;
  readonly heuristic?: HeuristicDefinition | null;
  readonly promptTemplate?: string | null;
  readonly evalModelName?: string | null;
  readonly temperature?: number | null;
}

export interface UpdateMetric extends MetricChanges {
  readonly type: 'UpdateMetric';
  readonly metricId: string;
}

export type MetricCommand = CreateMetric | UpdateMetric;
export type MetricEvent = MetricCreated | MetricUpdated;
export type MetricState =
  | { readonly exists: false }
  | { readonly exists: true; readonly projectId: string; readonly snapshot: MetricSnapshot & MetricDefinition };

const CHANGEABLE = ['name', 'description', 'guidelines', 'passingThreshold', 'heuristic', 'promptTemplate', 'evalModelName', 'temperature'] as const;

function sameDefinition(a: MetricDefinition, b: MetricDefinition): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted: equal definitions, equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v,
  );
}

function snapshotOf(metricId: string, version: number, definition: MetricDefinition): MetricSnapshot & MetricDefinition {
  return { metricId, version, ...definition };
}

export const metricDecider: Decider<MetricCommand, MetricState, MetricEvent> = {
  initialState: () => ({ exists: false }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateMetric': {
        if (state.exists) throw new AssayError('BAD_USER_INPUT', `Metric ${command.metricId} already exists.`);
        const { type: _type, metricId, projectId, ...input } = command;
        const definition = normalizeMetricDefinition(input);
        return [{ type: 'MetricCreated', data: { metricId, projectId, ...definition } }];
      }
      case 'UpdateMetric': {
        if (!state.exists) throw new AssayError('METRIC_NOT_FOUND', `Metric ${command.metricId} not found.`, { metricId: command.metricId });
        const current = definitionOf(state.snapshot);
        const merged: Record<string, unknown> = { ...current };
        for (const field of CHANGEABLE) {
          const value = command[field];
          if (value === undefined) continue;
          // null resets; a null name keeps the current one (a metric always has a name).
          merged[field] = value === null && field === 'name' ? current.name : value;
        }
        const next = normalizeMetricDefinition(merged as unknown as MetricDefinition);
        // Saving the same definition again is not a new version.
        if (sameDefinition(next, current)) return [];
        return [
          {
            type: 'MetricUpdated',
            data: { metricId: command.metricId, projectId: state.projectId, version: state.snapshot.version + 1, ...next },
          },
        ];
      }
    }
  },

  evolve(_state, event) {
    switch (event.type) {
      case 'MetricCreated': {
        const { projectId, metricId, ...created } = event.data;
        return { exists: true, projectId, snapshot: snapshotOf(metricId, 1, definitionOf({ metricId, version: 1, ...created })) };
      }
      case 'MetricUpdated': {
        const { projectId, metricId, version, ...definition } = event.data;
        return { exists: true, projectId, snapshot: snapshotOf(metricId, version, definition) };
      }
    }
  },
};
