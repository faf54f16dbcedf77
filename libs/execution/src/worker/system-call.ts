import { isAssayError } from '@assay/contracts';
import type { CompiledPromptSystem } from '@assay/domain';
import type { ChatRequest, ChatResult } from '@assay/llm';
import type { ExecutionInfo } from '@assay/runs';

/** What executions need of the LLM client: `chat` through the shared governor. */
export interface ChatClient {
  chat(request: ChatRequest): Promise<ChatResult>;
}

/** Structured JSON-lines logging, fields first (a pino logger satisfies it). */
export interface ExecutionLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Codes of ExecutionFailed besides the LLM client's (LLM_UNAVAILABLE, LLM_BAD_REQUEST…). */
export const FailureCode = {
  /** A message template printed a field this testcase's inputs lack (or a filter failed). */
  TEMPLATE_RENDER_FAILED: 'TEMPLATE_RENDER_FAILED',
  /** Anything else: a bug, reported with its message. */
  EXECUTION_ERROR: 'EXECUTION_ERROR',
} as const;

export type SystemCallResult = { ok: true; content: string; execution: ExecutionInfo; attempts: number } | { ok: false; error: unknown };

/** Renders the system's messages over the inputs and asks the model; never throws. */
export async function callSystem(llm: ChatClient, system: CompiledPromptSystem, inputs: unknown, signal?: AbortSignal): Promise<SystemCallResult> {
  try {
    const messages = system.render(inputs);
    const result = await llm.chat({
      provider: system.provider,
      model: system.model,
      messages,
      temperature: system.temperature,
      maxTokens: system.maxTokens,
      topP: system.topP,
      signal,
    });
    return {
      ok: true,
      content: result.content,
      attempts: result.attempts,
      execution: {
        model: result.model,
        provider: result.provider,
        tokens: { prompt: result.usage.promptTokens, completion: result.usage.completionTokens },
        cost: result.cost,
        latencyMs: Math.round(result.attemptLatencyMs),
      },
    };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Failures that may pass: the provider down, slow or rate limiting after every retry of the
 * client, the database unavailable. Anything that is not an AssayError (a connection error) counts
 * as one too. A 4xx, a bad config or a template that cannot render these inputs do not.
 */
export function isTransient(error: unknown): boolean {
  if (!isAssayError(error)) return !(error instanceof Error && error.name === 'TemplateRenderError');
  return ['LLM_UNAVAILABLE', 'LLM_TIMEOUT', 'LLM_RATE_LIMITED', 'UNAVAILABLE', 'VERSION_CONFLICT', 'INTERNAL'].includes(error.code);
}

export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
