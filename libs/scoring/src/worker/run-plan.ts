import { isAssayError, MetricSnapshot } from '@assay/contracts';
import { assertValidHeuristic } from '@assay/domain';
import { compileHeuristic } from '../heuristics/score-heuristic';
import type { Scorer } from '../heuristics/scorer';
import { ScoringFailureCode } from './types';

/** How one metric of a run is scored: by a compiled heuristic, or not at all, for a recorded reason. */
export type MetricPlan =
  | { readonly metric: MetricSnapshot; readonly kind: 'heuristic'; readonly scorer: Scorer }
  | { readonly metric: MetricSnapshot; readonly kind: 'failure'; readonly code: string; readonly reason: string };

export interface RunPlan {
  readonly runId: string;
  readonly plans: readonly MetricPlan[];
}

const describe = (metric: MetricSnapshot) => `metric "${metric.name}" (v${metric.version})`;

/**
 * Compiles each metric once per run: the heuristic's params are read and its regex compiled here,
 * not once per record. A metric that cannot score becomes a failure plan, recorded for every record.
 */
export function planMetric(metric: MetricSnapshot): MetricPlan {
  if (metric.evalType !== 'HEURISTIC') {
    return {
      metric,
      kind: 'failure',
      code: ScoringFailureCode.METRIC_UNSUPPORTED,
      reason:
        `${describe(metric)} has evalType ${metric.evalType}, which this scoring service does not score yet. ` +
        `Upgrade the scoring service to a version that supports ${metric.evalType} metrics, or use HEURISTIC metrics in new runs.`,
    };
  }
  if (!metric.heuristic) {
    return {
      metric,
      kind: 'failure',
      code: ScoringFailureCode.METRIC_CONFIG_INVALID,
      reason: `${describe(metric)} is HEURISTIC but has no heuristic definition: define heuristic: {kind, …} and use the new version in a new run.`,
    };
  }
  try {
    assertValidHeuristic(metric.heuristic, metric.outputType);
    return { metric, kind: 'heuristic', scorer: compileHeuristic(metric.heuristic) };
  } catch (error) {
    return {
      metric,
      kind: 'failure',
      code: ScoringFailureCode.METRIC_CONFIG_INVALID,
      reason: `${describe(metric)} cannot score: ${errorMessage(error)} Fix the metric and use the new version in a new run.`,
    };
  }
}

export function planRun(runId: string, metrics: readonly MetricSnapshot[]): RunPlan {
  return { runId, plans: metrics.map(planMetric) };
}

export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

/** Errors that the same input will raise again (a domain rejection), as opposed to an outage. */
export function isDeterministic(error: unknown): boolean {
  return isAssayError(error) && !['UNAVAILABLE', 'INTERNAL', 'VERSION_CONFLICT'].includes(error.code);
}
