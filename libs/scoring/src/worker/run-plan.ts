import { isAssayError, MetricSnapshot } from '@assay/contracts';
import { assertValidHeuristic } from '@assay/domain';
import type { CodeSandbox } from '../code/code-sandbox';
import { compileHeuristic } from '../heuristics/score-heuristic';
import type { HeuristicRecord, HeuristicResult } from '../heuristics/values';
import { JudgePlan, JudgeService, planJudge } from '../judge/judge-scoring';
import { RunMetric, ScoringFailureCode } from './types';

/** Scores one record: synchronously (built-in heuristics) or not (CODE, in the sandbox's thread). */
export type PlanScorer = (record: HeuristicRecord) => HeuristicResult | Promise<HeuristicResult>;

/**
 * How one metric of a run is scored: by a compiled heuristic or CODE function, not at all for a
 * recorded reason, or not by this worker (HUMAN: a person scores it later; the run stays SCORING).
 */
export type MetricPlan =
  | { readonly metric: MetricSnapshot; readonly kind: 'heuristic'; readonly scorer: PlanScorer }
  | { readonly metric: MetricSnapshot; readonly kind: 'judge'; readonly judge: JudgePlan }
  | { readonly metric: MetricSnapshot; readonly kind: 'failure'; readonly code: string; readonly reason: string }
  | { readonly metric: MetricSnapshot; readonly kind: 'human' };

export interface RunPlan {
  readonly runId: string;
  readonly plans: readonly MetricPlan[];
  /** Per metric id, the re-score round its outcomes carry (absent: 0). */
  readonly rounds?: ReadonlyMap<string, number>;
  /** The run's re-score stream version this plan reflects (see ScoringHandlerDeps.rescoreVersions). */
  readonly rescoreVersion?: number;
}

export interface PlanOptions {
  /** Runs CODE heuristics; without one, CODE metrics fail with METRIC_UNSUPPORTED. */
  readonly sandbox?: CodeSandbox;
  /** Scores AI metrics; without one, they fail with METRIC_UNSUPPORTED. */
  readonly judge?: JudgeService;
}

const describe = (metric: MetricSnapshot) => `metric "${metric.name}" (v${metric.version})`;

/**
 * Compiles each metric once per run: the heuristic's params are read and its regex compiled here,
 * not once per record; a CODE function is checked once (and cached by the sandbox per source).
 * A metric that cannot score becomes a failure plan, recorded for every record.
 */
export async function planMetric(metric: MetricSnapshot, options: PlanOptions = {}): Promise<MetricPlan> {
  if (metric.evalType === 'HUMAN') return { metric, kind: 'human' };
  if (metric.evalType === 'AI' && options.judge) {
    try {
      return { metric, kind: 'judge', judge: planJudge(metric, options.judge) };
    } catch (error) {
      return {
        metric,
        kind: 'failure',
        code: ScoringFailureCode.METRIC_CONFIG_INVALID,
        reason: `${describe(metric)} cannot score: ${errorMessage(error)} Fix its prompt template, then re-score (rescoreRun).`,
      };
    }
  }
  if (metric.evalType === 'AI') {
    return {
      metric,
      kind: 'failure',
      code: ScoringFailureCode.METRIC_UNSUPPORTED,
      reason:
        `${describe(metric)} is an AI metric and this scoring service has no LLM judge configured. ` +
        'Start it with an LLM provider (OPENAI_BASE_URL, OPENAI_API_KEY or ASSAY_LLM_CONFIG), then re-score the run (rescoreRun).',
    };
  }
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
    if (metric.heuristic.kind === 'CODE') return await planCode(metric, metric.heuristic.code ?? '', options.sandbox);
    return { metric, kind: 'heuristic', scorer: compileHeuristic(metric.heuristic) };
  } catch (error) {
    if (isAssayError(error) && error.code === 'UNAVAILABLE') throw error; // the sandbox is down: retry later
    return {
      metric,
      kind: 'failure',
      code: ScoringFailureCode.METRIC_CONFIG_INVALID,
      reason: `${describe(metric)} cannot score: ${errorMessage(error)} Fix the metric and use the new version in a new run.`,
    };
  }
}

async function planCode(metric: MetricSnapshot, source: string, sandbox: CodeSandbox | undefined): Promise<MetricPlan> {
  if (!sandbox) {
    return {
      metric,
      kind: 'failure',
      code: ScoringFailureCode.METRIC_UNSUPPORTED,
      reason: `${describe(metric)} is a CODE heuristic and this scoring service runs no code sandbox.`,
    };
  }
  const code = await sandbox.compile(source);
  const { outputType } = metric;
  return { metric, kind: 'heuristic', scorer: (record) => sandbox.score(code, record, outputType) };
}

export async function planRun(runId: string, metrics: readonly RunMetric[], options: PlanOptions = {}): Promise<RunPlan> {
  const rounds = new Map(metrics.map((metric) => [metric.metricId, metric.round ?? 0]));
  const snapshots = metrics.map(({ round: _round, ...snapshot }) => snapshot as MetricSnapshot);
  return { runId, plans: await Promise.all(snapshots.map((metric) => planMetric(metric, options))), rounds };
}

export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

/** Errors that the same input will raise again (a domain rejection), as opposed to an outage. */
export function isDeterministic(error: unknown): boolean {
  return isAssayError(error) && !['UNAVAILABLE', 'INTERNAL', 'VERSION_CONFLICT'].includes(error.code);
}
