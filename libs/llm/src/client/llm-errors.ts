import { AssayError } from '@assay/contracts';
import { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ProviderConfig } from '../config/providers';

/** How one attempt ended, when it did not return a completion. */
export type AttemptFailure =
  | { readonly kind: 'rate_limited'; readonly status: 429; readonly message: string; readonly retryAfterMs?: number }
  | { readonly kind: 'unavailable'; readonly status?: number; readonly message: string; readonly retryAfterMs?: number }
  | { readonly kind: 'timeout'; readonly message: string }
  | { readonly kind: 'bad_request'; readonly status: number; readonly message: string };

/** Longest Retry-After honoured as said; anything longer is treated as this (a misconfigured proxy). */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Sorts an error of the openai package (retries off) into what the governor does next:
 * 429 → wait its Retry-After; 408, 409, 5xx, connection failures, unreadable answers → back off;
 * our timeout → back off; any other 4xx → give up at once (the same request would fail again).
 */
export function classifyFailure(error: unknown, timedOut: boolean): AttemptFailure {
  if (timedOut || error instanceof APIConnectionTimeoutError) return { kind: 'timeout', message: 'no answer within the timeout' };
  if (error instanceof APIUserAbortError) return { kind: 'timeout', message: 'aborted' };
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const message = apiMessage(error);
    const retryAfterMs = parseRetryAfter(error.headers);
    if (status === 429) return { kind: 'rate_limited', status, message, retryAfterMs };
    if (status === 408 || status === 409 || status >= 500) return { kind: 'unavailable', status, message, retryAfterMs };
    return { kind: 'bad_request', status, message };
  }
  // Connection refused or reset, DNS, an answer that is not JSON: the provider is not answering properly.
  const cause = error instanceof Error && (error as { cause?: unknown }).cause;
  const message = error instanceof Error ? `${error.message}${cause instanceof Error ? ` (${cause.message})` : ''}` : String(error);
  return { kind: 'unavailable', message };
}

/** `retry-after-ms` (milliseconds), else `Retry-After` (seconds or an HTTP date), as the openai package reads them. */
export function parseRetryAfter(headers: Headers | undefined | null): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return Math.min(value, MAX_RETRY_AFTER_MS);
  }
  const after = headers.get('retry-after');
  if (after !== null && after.trim() !== '') {
    const seconds = Number(after);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return Math.min(Math.max(0, date - Date.now()), MAX_RETRY_AFTER_MS);
  }
  return undefined;
}

function apiMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  if (body && typeof body.message === 'string') return body.message;
  return error.message;
}

/** The error a caller gets after the last attempt: a code to match on and a message that says what to do. */
export function finalError(
  failure: AttemptFailure,
  context: { provider: ProviderConfig; model: string; attempts: number; elapsedMs: number; timeoutMs: number },
): AssayError {
  const { provider, model, attempts } = context;
  const seconds = (context.elapsedMs / 1000).toFixed(1);
  const details = {
    provider: provider.name,
    baseURL: provider.baseURL,
    model,
    attempts,
    elapsedMs: Math.round(context.elapsedMs),
    status: 'status' in failure ? failure.status : undefined,
    providerMessage: failure.message,
  };
  const tried = `${attempts} attempt${attempts === 1 ? '' : 's'} over ${seconds} s`;
  switch (failure.kind) {
    case 'rate_limited':
      return new AssayError(
        'LLM_RATE_LIMITED',
        `LLM provider "${provider.name}" kept refusing calls to ${model} as rate limited (HTTP 429: ${failure.message}) after ${tried}. ` +
          `Lower the limits Assay keeps for it (maxConcurrency ${provider.maxConcurrency}, rpm ${provider.rpm ?? 'unlimited'}, tpm ${provider.tpm ?? 'unlimited'}: ` +
          `ASSAY_LLM_MAX_CONCURRENCY / ASSAY_LLM_RPM / ASSAY_LLM_TPM, or the provider's entry in ASSAY_LLM_CONFIG) to what your account allows, or raise maxAttempts; then retry.`,
        { ...details, retryAfterMs: failure.retryAfterMs },
      );
    case 'unavailable':
      return new AssayError(
        'LLM_UNAVAILABLE',
        `LLM provider "${provider.name}" at ${provider.baseURL} was unavailable for ${model} (${failure.status ? `HTTP ${failure.status}: ` : ''}${failure.message}) after ${tried}. ` +
          `Check that the provider is up and reachable from Assay, then retry; raise maxAttempts or retryMaxMs for "${provider.name}" to ride out longer outages.`,
        details,
      );
    case 'timeout':
      return new AssayError(
        'LLM_TIMEOUT',
        `LLM provider "${provider.name}" did not answer ${model} within ${context.timeoutMs} ms, ${tried}. ` +
          `Raise timeoutMs for "${provider.name}" (ASSAY_LLM_TIMEOUT_MS for the default provider), ask for fewer tokens (maxTokens), or check the provider's load.`,
        { ...details, timeoutMs: context.timeoutMs },
      );
    case 'bad_request':
      return new AssayError(
        'LLM_BAD_REQUEST',
        `LLM provider "${provider.name}" refused the request for ${model} with HTTP ${failure.status}: ${failure.message}. ${badRequestHint(failure.status, provider, model)} Not retried: the same request would fail again.`,
        details,
      );
  }
}

function badRequestHint(status: number, provider: ProviderConfig, model: string): string {
  if (status === 401) return provider.apiKeyEnv ? `Check the API key in ${provider.apiKeyEnv}.` : `The provider wants an API key: set apiKeyEnv for "${provider.name}".`;
  if (status === 403) return `The key in ${provider.apiKeyEnv ?? 'use'} may not use ${model}: check its permissions.`;
  if (status === 404) return `Check the model name "${model}" and the base URL ${provider.baseURL} (OpenAI-compatible servers usually end in /v1).`;
  if (status === 413) return 'The prompt is too large: shorten the template or the inputs.';
  return 'Check the model name, the prompt and the sampling parameters (temperature, top_p, max tokens, response format) the metric or system sets.';
}
