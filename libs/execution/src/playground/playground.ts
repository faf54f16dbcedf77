import { randomUUID } from 'node:crypto';
import { isAssayError, MetricSnapshot } from '@assay/contracts';
import { assertValidScoreValue, executionOutputs, isPassing, KickoffTestcase } from '@assay/domain';
import type { RunCommands } from '@assay/runs';
import { CodeScoringFailure, MetricPlan, PlanOptions, planRun, sharedCodeSandbox } from '@assay/scoring';
import { ExecutionCatalog, ResolvedTarget, resolveTarget } from '../kickoff/resolve-target';
import type { PlaygroundInput, PlaygroundItem, PlaygroundScore, PlaygroundUpdate } from '../types';
import { callSystem, ChatClient, errorMessage } from '../worker/system-call';
import { AsyncQueue } from './async-queue';

/** "A few testcases at once": more belong in a run (kickoffRun takes the same inputs). */
export const MAX_PLAYGROUND_TESTCASES = 20;

export interface PlaygroundDeps {
  readonly catalog: ExecutionCatalog;
  readonly runs: Pick<RunCommands, 'pinMetrics'>;
  /** The model calls, through the shared governor like every other call. */
  readonly llm: () => Promise<ChatClient>;
  /** Throws PROJECT_NOT_FOUND for a missing project. */
  readonly requireProject: (projectId: string) => Promise<void>;
  /**
   * What scores metrics here besides built-in heuristics: the code sandbox (CODE) and, once the
   * scoring library scores AI metrics, what it needs for that. Default: the shared code sandbox
   * when a metric is CODE.
   */
  readonly planOptions?: (metrics: readonly MetricSnapshot[]) => Promise<PlanOptions>;
}

/**
 * Starts a playground session: checks the input (the same rules as kickoffRun; objects of another
 * project are refused as missing), then returns its updates. Nothing is stored: no run, no events.
 * The model calls go through the governor; scores are computed in this process with the scoring
 * library. Returning from the iterator (the client unsubscribes) cancels the calls in flight.
 */
export async function startPlayground(deps: PlaygroundDeps, input: PlaygroundInput): Promise<AsyncIterableIterator<PlaygroundUpdate>> {
  await deps.requireProject(input.projectId);
  const target = await resolveTarget(deps.catalog, input, { maxTestcases: MAX_PLAYGROUND_TESTCASES });
  const metrics = input.metricIds?.length ? await deps.runs.pinMetrics(input.projectId, input.metricIds) : [];
  const needsSandbox = metrics.some((metric) => metric.evalType === 'HEURISTIC' && metric.heuristic?.kind === 'CODE');
  const options = deps.planOptions ? await deps.planOptions(metrics) : needsSandbox ? { sandbox: sharedCodeSandbox() } : {};
  const plan = await planRun('playground', metrics, options);
  const llm = await deps.llm();

  const abort = new AbortController();
  const queue = new AsyncQueue<PlaygroundUpdate>(() => abort.abort(new Error('The playground session was closed')));
  void runSession(queue, abort.signal, target, plan.plans, llm);
  return queue;
}

async function runSession(queue: AsyncQueue<PlaygroundUpdate>, signal: AbortSignal, target: ResolvedTarget, plans: readonly MetricPlan[], llm: ChatClient): Promise<void> {
  const sessionId = randomUUID();
  const numItems = target.testcases.length;
  const items: PlaygroundItem[] = new Array(numItems);
  let numDone = 0;
  const push = (kind: PlaygroundUpdate['kind'], item: PlaygroundItem | null) =>
    queue.push({ sessionId, kind, numItems, numDone, item, items: kind === 'DONE' ? items : null });
  try {
    push('STARTED', null);
    await Promise.all(
      target.testcases.map(async (testcase, index) => {
        const answered = await executeOne(llm, target, testcase, index, signal);
        if (signal.aborted) return;
        push('OUTPUT', answered);
        const scored = { ...answered, scores: await scoreItem(plans, answered) };
        items[index] = scored;
        numDone++;
        if (!signal.aborted) push('SCORES', scored);
      }),
    );
    if (!signal.aborted) push('DONE', null);
    queue.end();
  } catch (error) {
    queue.fail(error);
  }
}

async function executeOne(llm: ChatClient, target: ResolvedTarget, testcase: KickoffTestcase, index: number, signal: AbortSignal): Promise<PlaygroundItem> {
  const base = { index, testcaseId: testcase.testcaseId, inputs: testcase.inputs, expected: testcase.expected, scores: [] };
  const result = await callSystem(llm, target.system, testcase.inputs, signal);
  if (result.ok) return { ...base, outputs: executionOutputs(result.content), execution: result.execution, error: null };
  const error = result.error;
  const code = isAssayError(error) ? error.code : error instanceof Error && error.name === 'TemplateRenderError' ? 'TEMPLATE_RENDER_FAILED' : 'EXECUTION_ERROR';
  return { ...base, outputs: null, execution: null, error: { code, reason: errorMessage(error) } };
}

async function scoreItem(plans: readonly MetricPlan[], item: PlaygroundItem): Promise<PlaygroundScore[]> {
  const scores: PlaygroundScore[] = [];
  for (const plan of plans) {
    const { metric } = plan;
    const entry = (outcome: Pick<PlaygroundScore, 'value' | 'passed' | 'reasoning' | 'error'>): PlaygroundScore => ({ metricId: metric.metricId, metricVersion: metric.version, ...outcome });
    const failed = (code: string, reason: string) => entry({ value: null, passed: null, reasoning: null, error: { code, reason } });
    if (plan.kind === 'human') {
      scores.push(failed('HUMAN_METRIC', `metric "${metric.name}" is scored by a person: it is scored in runs (submitScore), not in the playground.`));
      continue;
    }
    if (!item.outputs) {
      scores.push(failed('NO_OUTPUT', 'The system gave no output to score (see the item\'s error).'));
      continue;
    }
    if (!('scorer' in plan)) {
      const failure = plan as { code?: string; reason?: string };
      scores.push(failed(failure.code ?? 'METRIC_UNSUPPORTED', failure.reason ?? `metric "${metric.name}" cannot be scored here.`));
      continue;
    }
    try {
      const { value, reasoning } = await plan.scorer({ inputs: item.inputs, outputs: item.outputs, expected: item.expected });
      assertValidScoreValue(metric.outputType, value);
      scores.push(entry({ value, passed: isPassing(metric.outputType, metric.passingThreshold, value), reasoning, error: null }));
    } catch (error) {
      const code = error instanceof CodeScoringFailure ? error.code : isAssayError(error) ? error.code : 'INTERNAL';
      scores.push(failed(code, `metric "${metric.name}" (v${metric.version}): ${errorMessage(error)}`));
    }
  }
  return scores;
}
