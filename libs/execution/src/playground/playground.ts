import { randomUUID } from 'node:crypto';
import { isAssayError, MetricSnapshot } from '@assay/contracts';
import { assertValidScoreValue, executionOutputs, isPassing, KickoffTestcase } from '@assay/domain';
import type { RunCommands } from '@assay/runs';
import { CodeScoringFailure, judgeRequest, JudgeService, MetricPlan, PlanOptions, planRun, sharedCodeSandbox } from '@assay/scoring';
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
   * What scores metrics here besides built-in heuristics: the code sandbox (CODE metrics) and the
   * LLM judge (AI metrics; without one they get METRIC_UNSUPPORTED). Default: the shared code
   * sandbox when a metric is CODE, no judge.
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
  void runSession(queue, abort.signal, target, plan.plans, llm, options.judge);
  return queue;
}

async function runSession(
  queue: AsyncQueue<PlaygroundUpdate>,
  signal: AbortSignal,
  target: ResolvedTarget,
  plans: readonly MetricPlan[],
  llm: ChatClient,
  judge: JudgeService | undefined,
): Promise<void> {
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
        const scored = { ...answered, scores: await scoreItem(plans, answered, judge, signal) };
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

/** Every metric's outcome for one item; the judge's calls for its AI metrics go out together. */
async function scoreItem(plans: readonly MetricPlan[], item: PlaygroundItem, judge: JudgeService | undefined, signal: AbortSignal): Promise<PlaygroundScore[]> {
  return Promise.all(plans.map((plan) => scoreOne(plan, item, judge, signal)));
}

async function scoreOne(plan: MetricPlan, item: PlaygroundItem, judge: JudgeService | undefined, signal: AbortSignal): Promise<PlaygroundScore> {
  const { metric } = plan;
  const what = `metric "${metric.name}" (v${metric.version})`;
  const entry = (outcome: Pick<PlaygroundScore, 'value' | 'passed' | 'reasoning' | 'error'>): PlaygroundScore => ({ metricId: metric.metricId, metricVersion: metric.version, ...outcome });
  const scored = (value: number, reasoning: string) => entry({ value, passed: isPassing(metric.outputType, metric.passingThreshold, value), reasoning, error: null });
  const failed = (code: string, reason: string) => entry({ value: null, passed: null, reasoning: null, error: { code, reason } });
  if (plan.kind === 'human') return failed('HUMAN_METRIC', `${what} is scored by a person: in runs (submitScore), not in the playground.`);
  if (!item.outputs) return failed('NO_OUTPUT', "The system gave no output to score (see the item's error).");
  const record = { inputs: item.inputs, outputs: item.outputs, expected: item.expected };
  try {
    if (plan.kind === 'judge' && judge) {
      const built = judgeRequest(metric, plan.judge, judge, record, false);
      if (!built.ok) return failed('TEMPLATE_RENDER_FAILED', built.reason);
      const result = await judge.judge.judge({ ...built.request, signal });
      return scored(result.score, result.reasoning);
    }
    if (plan.kind !== 'heuristic') {
      const failure = plan as { code?: string; reason?: string };
      return failed(failure.code ?? 'METRIC_UNSUPPORTED', failure.reason ?? `${what} cannot be scored here.`);
    }
    const { value, reasoning } = await plan.scorer(record);
    assertValidScoreValue(metric.outputType, value);
    return scored(value, reasoning);
  } catch (error) {
    const code = error instanceof CodeScoringFailure ? error.code : isAssayError(error) ? error.code : 'INTERNAL';
    return failed(code, `${what}: ${errorMessage(error)}`);
  }
}
