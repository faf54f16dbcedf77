import { AssayError, OutputType } from '@assay/contracts';
import type { ChatMessage, LlmClient, TokenUsage } from '../client/llm-client';
import { JudgeCache, JudgeCacheKey, judgePromptHash } from './judge-cache';

export interface JudgeRequest {
  /** Provider name (default: the registry's default). */
  readonly provider?: string;
  readonly model: string;
  /** The metric's rendered template. */
  readonly messages: readonly ChatMessage[];
  /** What the score must be: BOOLEAN true/false (or 1/0), INT 1–5, FLOAT 0–1. */
  readonly outputType: OutputType;
  /** Default 0: a judge should answer the same way twice. */
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly topP?: number;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Malformed answers asked again before giving up with JUDGE_OUTPUT_INVALID (default 2). */
  readonly maxInvalidRetries?: number;
  /**
   * Prepend a system message that asks for `{"score", "reasoning"}` (default true). Turn it off
   * when the template already says so.
   */
  readonly formatInstruction?: boolean;
  /** Use the judge cache for this metric version (needs a JudgeCache). `bypass`: ask the model anyway, and refresh the entry. */
  readonly cache?: { readonly metricId: string; readonly metricVersion: number; readonly bypass?: boolean };
}

export interface JudgeResult {
  /** BOOLEAN: 1 or 0; INT: 1–5; FLOAT: 0–1. */
  readonly score: number;
  readonly reasoning: string;
  /** The model's answer, verbatim. */
  readonly raw: string;
  /** The model that answered, as the provider named it. */
  readonly model: string;
  readonly provider: string;
  /** Tokens and cost of the model calls this judge() made (0 on a cache hit). */
  readonly usage: TokenUsage;
  readonly cost: number;
  readonly costNote?: string;
  /** Model calls made (0 on a cache hit; more than 1 when malformed answers were asked again). */
  readonly calls: number;
  readonly latencyMs: number;
  /** From the judge cache; `original` is what the call that produced it used and cost. */
  readonly cached: boolean;
  readonly original?: { readonly usage: TokenUsage; readonly cost: number; readonly createdAt?: Date };
}

export type ParsedJudgeAnswer = { readonly ok: true; readonly score: number; readonly reasoning: string } | { readonly ok: false; readonly reason: string };

const SCALE: Record<OutputType, string> = {
  BOOLEAN: '"score" is true if the criteria are met and false otherwise',
  INT: '"score" is a whole number from 1 (worst) to 5 (best)',
  FLOAT: '"score" is a number from 0 (worst) to 1 (best)',
};
const SHAPE: Record<OutputType, string> = {
  BOOLEAN: '{"score": true, "reasoning": "..."}',
  INT: '{"score": 4, "reasoning": "..."}',
  FLOAT: '{"score": 0.8, "reasoning": "..."}',
};

export function judgeFormatInstruction(outputType: OutputType): string {
  return `Answer with a single JSON object and nothing else, shaped like ${SHAPE[outputType]}: ${SCALE[outputType]}, and "reasoning" says why in one or two sentences.`;
}

/**
 * LLM judges: ask for `{score, reasoning}` as JSON (response_format json_object where the provider
 * supports it; fenced or surrounded JSON is tolerated), check the score against the output type,
 * ask again when the answer is malformed (telling the model what was wrong), and after
 * `maxInvalidRetries` throw JUDGE_OUTPUT_INVALID with the model's raw text. Errors of the call
 * itself (LLM_RATE_LIMITED, LLM_UNAVAILABLE, LLM_TIMEOUT, LLM_BAD_REQUEST) pass through.
 */
export class LlmJudge {
  constructor(
    private readonly llm: LlmClient,
    private readonly cache?: JudgeCache,
  ) {}

  /** The cache key of a request, or undefined when it does not use the cache. */
  cacheKey(request: JudgeRequest): JudgeCacheKey | undefined {
    if (!request.cache) return undefined;
    const provider = this.llm.provider(request.provider);
    return {
      metricId: request.cache.metricId,
      metricVersion: request.cache.metricVersion,
      model: request.model,
      promptHash: judgePromptHash({
        messages: this.messagesFor(request),
        outputType: request.outputType,
        temperature: request.temperature ?? 0,
        topP: request.topP,
        maxTokens: request.maxTokens,
        jsonMode: provider.jsonMode,
      }),
    };
  }

  async judge(request: JudgeRequest): Promise<JudgeResult> {
    const started = performance.now();
    const provider = this.llm.provider(request.provider);
    const key = this.cache ? this.cacheKey(request) : undefined;
    if (key && !request.cache?.bypass) {
      const hit = await this.cache!.get(key);
      if (hit) {
        return {
          score: hit.score,
          reasoning: hit.reasoning,
          raw: hit.raw,
          model: hit.model,
          provider: hit.provider,
          usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
          cost: 0,
          calls: 0,
          latencyMs: performance.now() - started,
          cached: true,
          original: { usage: hit.usage, cost: hit.cost, createdAt: hit.createdAt },
        };
      }
    }

    const base = this.messagesFor(request);
    let messages: ChatMessage[] = [...base];
    const maxCalls = 1 + Math.max(0, request.maxInvalidRetries ?? 2);
    const usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    let cost = 0;
    let costNote: string | undefined;
    const answers: string[] = [];
    let reason = '';
    let model = request.model;

    for (let call = 1; call <= maxCalls; call++) {
      const result = await this.llm.chat({
        provider: provider.name,
        model: request.model,
        messages,
        temperature: request.temperature ?? 0,
        maxTokens: request.maxTokens,
        topP: request.topP,
        timeoutMs: request.timeoutMs,
        signal: request.signal,
        responseFormat: provider.jsonMode ? { type: 'json_object' } : undefined,
      });
      usage.promptTokens += result.usage.promptTokens;
      usage.completionTokens += result.usage.completionTokens;
      usage.totalTokens += result.usage.totalTokens;
      cost += result.cost;
      costNote ??= result.costNote;
      model = result.model;
      answers.push(result.content);

      const parsed = parseJudgeAnswer(result.content, request.outputType);
      if (parsed.ok) {
        const judged: JudgeResult = {
          score: parsed.score,
          reasoning: parsed.reasoning,
          raw: result.content,
          model: result.model,
          provider: provider.name,
          usage: { ...usage },
          cost,
          costNote,
          calls: call,
          latencyMs: performance.now() - started,
          cached: false,
        };
        if (key) {
          await this.cache!.put(key, { score: judged.score, reasoning: judged.reasoning, raw: judged.raw, model: judged.model, provider: judged.provider, usage: judged.usage, cost: judged.cost });
        }
        return judged;
      }
      reason = parsed.reason;
      // Ask again, showing the model its answer and what was wrong with it.
      messages = [
        ...base,
        { role: 'assistant', content: result.content },
        { role: 'user', content: `That answer could not be used: ${parsed.reason}. ${judgeFormatInstruction(request.outputType)}` },
      ];
    }

    const raw = answers[answers.length - 1] ?? '';
    throw new AssayError(
      'JUDGE_OUTPUT_INVALID',
      `The judge model ${model} gave no usable answer in ${maxCalls} tries (${reason}). Its last answer was: ${JSON.stringify(truncate(raw, 2_000))}. ` +
        `Make the metric's prompt ask for ${SHAPE[request.outputType]} with ${SCALE[request.outputType]}, or use a model that follows the format.`,
      { raw, answers, reason, calls: maxCalls, model, provider: provider.name, outputType: request.outputType, usage, cost },
    );
  }

  private messagesFor(request: JudgeRequest): ChatMessage[] {
    if (request.formatInstruction === false) return [...request.messages];
    return [{ role: 'system', content: judgeFormatInstruction(request.outputType) }, ...request.messages];
  }
}

/**
 * Reads `{"score": …, "reasoning": …}` from a model's answer: bare JSON, JSON in a ``` fence, or
 * the outermost {…} in surrounding text. The score must fit the output type: BOOLEAN true/false or
 * 1/0 (→ 1/0), INT a whole number 1–5, FLOAT a number 0–1 (numeric strings are accepted).
 */
export function parseJudgeAnswer(text: string, outputType: OutputType): ParsedJudgeAnswer {
  const value = extractJson(text);
  if (value === undefined) return { ok: false, reason: 'the answer is not a JSON object' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'the answer is JSON but not an object with "score" and "reasoning"' };
  const record = value as Record<string, unknown>;
  if (!('score' in record)) return { ok: false, reason: 'the JSON object has no "score"' };
  const score = checkScore(record.score, outputType);
  if (typeof score === 'string') return { ok: false, reason: score };
  const reasoningValue = record.reasoning ?? record.reason ?? record.explanation ?? '';
  const reasoning = typeof reasoningValue === 'string' ? reasoningValue : JSON.stringify(reasoningValue);
  return { ok: true, score, reasoning };
}

function checkScore(value: unknown, outputType: OutputType): number | string {
  const shown = JSON.stringify(value);
  if (outputType === 'BOOLEAN') {
    if (value === true || value === 1 || (typeof value === 'string' && /^\s*(true|1)\s*$/i.test(value))) return 1;
    if (value === false || value === 0 || (typeof value === 'string' && /^\s*(false|0)\s*$/i.test(value))) return 0;
    return `"score" must be true or false (or 1/0), not ${shown}`;
  }
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(number)) return `"score" must be a number, not ${shown}`;
  if (outputType === 'INT') {
    if (!Number.isInteger(number) || number < 1 || number > 5) return `"score" must be a whole number from 1 to 5, not ${shown}`;
    return number;
  }
  if (number < 0 || number > 1) return `"score" must be a number from 0 to 1, not ${shown}`;
  return number;
}

function extractJson(text: string): unknown {
  const candidates: string[] = [text.trim()];
  const fenced = /```(?:json|JSON)?\s*([\s\S]*?)```/.exec(text);
  if (fenced) candidates.push(fenced[1].trim());
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first >= 0 && last > first) candidates.push(text.slice(first, last + 1));
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate);
    } catch {
      // next candidate
    }
  }
  return undefined;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
