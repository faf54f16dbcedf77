import { isAssayError, JudgeUsage, MetricSnapshot } from '@assay/contracts';
import { compileTemplate, CompiledTemplate, JUDGE_PROMPT_VARIABLES, TemplateRenderError } from '@assay/domain';
import type { JudgeCacheEntry, JudgeCacheKey, JudgeRequest, JudgeResult } from '@assay/llm';
import { cacheKeyString } from '@assay/llm';
import type { HeuristicRecord } from '../heuristics/values';

/**
 * AI metrics (issue 4): an LLM judge scores each record. Per metric version the pinned template is
 * compiled once; per record it is rendered over inputs, outputs, expected and guidelines and sent
 * to `LlmJudge.judge` (JSON `{score, reasoning}` checked against the output type, malformed answers
 * asked again). The rate governor inside the LLM client bounds the calls in flight across every
 * process, so a batch sends all its calls at once and waits for them together.
 */

/** What the scoring worker needs of @assay/llm (an `LlmJudge` with its `JudgeCache`). */
export interface JudgeService {
  readonly judge: { judge(request: JudgeRequest): Promise<JudgeResult>; cacheKey(request: JudgeRequest): JudgeCacheKey | undefined };
  /** Reads a batch's cached answers in one statement. Without it every call reads its own. */
  readonly cache?: { getMany(keys: readonly JudgeCacheKey[]): Promise<Map<string, JudgeCacheEntry>> };
  /** For metrics without evalModelName: ASSAY_JUDGE_MODEL, else DEFAULT_JUDGE_MODEL. */
  readonly defaultModel: string;
  /** Provider name (default: the LLM configuration's default provider). */
  readonly provider?: string;
  /** Malformed answers asked again before JUDGE_OUTPUT_INVALID (default 2). */
  readonly maxInvalidRetries?: number;
  /** Completion tokens allowed per judge answer (default: the provider's own). */
  readonly maxTokens?: number;
}

export const DEFAULT_JUDGE_MODEL = 'gpt-4o-mini';

/** An AI metric ready to judge records: its template compiled, its model chosen. */
export interface JudgePlan {
  readonly template: CompiledTemplate;
  readonly model: string;
  readonly temperature: number;
}

export function planJudge(metric: MetricSnapshot, service: JudgeService): JudgePlan {
  const template = compileTemplate(metric.promptTemplate ?? '', { field: 'promptTemplate', variables: JUDGE_PROMPT_VARIABLES });
  return { template, model: metric.evalModelName || service.defaultModel, temperature: metric.temperature ?? 0 };
}

/** The judge request for one record, or a render failure (a missing field the template prints). */
export function judgeRequest(
  metric: MetricSnapshot,
  plan: JudgePlan,
  service: JudgeService,
  record: HeuristicRecord,
  bypassCache: boolean,
): { ok: true; request: JudgeRequest } | { ok: false; reason: string } {
  let prompt: string;
  try {
    prompt = plan.template.render({ inputs: record.inputs ?? null, outputs: record.outputs ?? null, expected: record.expected ?? null, guidelines: metric.guidelines ?? '' });
  } catch (error) {
    const message = error instanceof TemplateRenderError ? error.message : String(error instanceof Error ? error.message : error);
    return {
      ok: false,
      reason: `metric "${metric.name}" (v${metric.version}): its prompt template cannot be rendered for this record: ${message}. Guard optional fields with {% if … %} in a new version of the metric, then re-score (rescoreRun).`,
    };
  }
  return {
    ok: true,
    request: {
      provider: service.provider,
      model: plan.model,
      messages: [{ role: 'user', content: prompt }],
      outputType: metric.outputType,
      temperature: plan.temperature,
      maxTokens: service.maxTokens,
      maxInvalidRetries: service.maxInvalidRetries,
      cache: { metricId: metric.metricId, metricVersion: metric.version, bypass: bypassCache },
    },
  };
}

/** A judged record, as the worker records it. */
export interface Judged {
  readonly value: number;
  readonly reasoning: string;
  readonly judge: JudgeUsage;
}

export function judgedFromResult(result: JudgeResult): Judged {
  return {
    value: result.score,
    reasoning: result.reasoning,
    judge: { model: result.model, tokens: { prompt: result.usage.promptTokens, completion: result.usage.completionTokens }, cost: result.cost, cached: result.cached },
  };
}

export function judgedFromCache(entry: JudgeCacheEntry): Judged {
  return { value: entry.score, reasoning: entry.reasoning, judge: { model: entry.model, tokens: { prompt: 0, completion: 0 }, cost: 0, cached: true } };
}

/**
 * Judges every request of a batch: cached answers read in one statement (unless bypassed), the
 * rest sent at once (the governor queues them). Resolves, once the cache was read, to one promise
 * per request, settling to a Judged or to the error, each as soon as its own answer is in.
 */
export async function judgeEach(service: JudgeService, requests: readonly JudgeRequest[]): Promise<Promise<Judged>[]> {
  const keys = requests.map((request) => (request.cache && !request.cache.bypass ? service.judge.cacheKey(request) : undefined));
  let hits = new Map<string, JudgeCacheEntry>();
  const wanted = keys.filter((key): key is JudgeCacheKey => key !== undefined);
  if (service.cache && wanted.length > 0) {
    try {
      hits = await service.cache.getMany(wanted);
    } catch {
      hits = new Map(); // each judge() reads the cache itself then
    }
  }
  return requests.map(async (request, i) => {
    const key = keys[i];
    const hit = key ? hits.get(cacheKeyString(key)) : undefined;
    if (hit) return judgedFromCache(hit);
    // Known to be a miss: ask the model without a second cache read (the answer is stored either way).
    const ask = service.cache && key && request.cache ? { ...request, cache: { ...request.cache, bypass: true } } : request;
    return judgedFromResult(await service.judge.judge(ask));
  });
}

/** LLM codes that a later delivery may not meet again (the provider was down, slow or rate-limited). */
const TRANSIENT_LLM_CODES = new Set(['LLM_RATE_LIMITED', 'LLM_UNAVAILABLE', 'LLM_TIMEOUT']);

export type JudgeFailure =
  /** Record it now: the same request would fail again. */
  | { readonly final: true; readonly code: string; readonly reason: string; readonly judge?: JudgeUsage }
  /** Retry the delivery later (after the client's own retries were spent, or the database hiccuped). */
  | { readonly final: false; readonly code: string; readonly error: unknown };

/** Sorts a judge error: final (recorded as ScoringFailed) or transient (the delivery is retried). */
export function classifyJudgeError(error: unknown, metric: MetricSnapshot): JudgeFailure {
  const what = `metric "${metric.name}" (v${metric.version})`;
  if (isAssayError(error)) {
    if (TRANSIENT_LLM_CODES.has(error.code)) return { final: false, code: error.code, error };
    if (error.code === 'JUDGE_OUTPUT_INVALID') {
      const details = error.details as { model?: string; usage?: { promptTokens?: number; completionTokens?: number }; cost?: number };
      const judge: JudgeUsage = {
        model: details.model ?? '',
        tokens: { prompt: details.usage?.promptTokens ?? 0, completion: details.usage?.completionTokens ?? 0 },
        cost: details.cost ?? 0,
        cached: false,
      };
      return { final: true, code: 'JUDGE_OUTPUT_INVALID', reason: `${what}: ${error.message}`, judge };
    }
    // LLM_BAD_REQUEST (key, model name, prompt too large), LLM_CONFIG_INVALID (unknown provider): fix, then re-score.
    return { final: true, code: error.code, reason: `${what}: ${error.message} Then re-score the run (rescoreRun).` };
  }
  // A database error while waiting for a governor slot, or anything unexpected: retried like an outage.
  return { final: false, code: 'JUDGE_UNAVAILABLE', error };
}
