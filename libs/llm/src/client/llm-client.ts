import { AssayError } from '@assay/contracts';
import { OpenAI } from 'openai';
import { loadProviders, ModelPrice, ProviderConfig, ProviderInput, ProviderRegistry } from '../config/providers';
import { GovernorDatabase, RateGovernor } from '../governor/rate-governor';
import { AttemptFailure, classifyFailure, finalError } from './llm-errors';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'developer';
  readonly content: string;
}

export type ResponseFormat = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming['response_format'];

export interface ChatRequest {
  /** Provider name (default: the registry's default, `openai` unless configured otherwise). */
  readonly provider?: string;
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly topP?: number;
  readonly responseFormat?: ResponseFormat;
  /** This call's per-attempt timeout (default: the provider's timeoutMs). */
  readonly timeoutMs?: number;
  /** Cancels the call, waiting or in flight; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

export interface ChatResult {
  readonly content: string;
  /** The model that answered, as the provider names it (may be more specific than the one asked for). */
  readonly model: string;
  readonly provider: string;
  readonly usage: TokenUsage;
  /** From the provider's prices (per million tokens); 0 when the model has no price (see costNote). */
  readonly cost: number;
  readonly costNote?: string;
  /** Attempts made, the successful one included. */
  readonly attempts: number;
  /** From the call to its answer: waiting for a slot, retries and backoff included. */
  readonly latencyMs: number;
  /** The successful attempt alone (request sent to answer read). */
  readonly attemptLatencyMs: number;
  readonly finishReason: string | null;
  readonly requestId: string | null;
}

export interface LlmClientOptions {
  /** PostgreSQL, with the llm migrations applied: the governor's shared state and its NOTIFYs. */
  readonly db: GovernorDatabase;
  /** Default: `loadProviders()` from the environment (and ASSAY_LLM_CONFIG). */
  readonly providers?: ProviderRegistry | readonly ProviderInput[];
  /** Added to each attempt's timeout to make its slot lease (default 10 s): a crashed holder's slot comes back after timeout + this. */
  readonly leaseMarginMs?: number;
}

type AttemptOutcome =
  | { ok: true; content: string; model: string; usage: TokenUsage; finishReason: string | null; requestId: string | null; latencyMs: number }
  | { ok: false; failure: AttemptFailure };

const EMPTY_USAGE: TokenUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };

/**
 * Chat completions against OpenAI-compatible providers, within limits shared by every process.
 *
 * Each attempt holds a governor slot while it is in flight. The openai package's own retries are
 * off (maxRetries 0), because waiting must happen outside the slot and be seen by every process:
 * a 429 pauses the whole provider until its Retry-After (no call anywhere before that time); 5xx,
 * connection failures and timeouts back off exponentially with jitter; other 4xx fail at once.
 * After maxAttempts the call fails with LLM_RATE_LIMITED, LLM_UNAVAILABLE or LLM_TIMEOUT.
 */
export class LlmClient {
  private readonly sdks = new Map<string, OpenAI>();
  private readonly configured = new Map<string, Promise<void>>();

  private constructor(
    readonly registry: ProviderRegistry,
    readonly governor: RateGovernor,
    private readonly leaseMarginMs: number,
  ) {}

  static async connect(options: LlmClientOptions): Promise<LlmClient> {
    const registry = Array.isArray(options.providers) ? loadProviders({ overrides: options.providers as readonly ProviderInput[] }) : ((options.providers as ProviderRegistry | undefined) ?? loadProviders());
    const governor = await RateGovernor.start(options.db);
    return new LlmClient(registry, governor, options.leaseMarginMs ?? 10_000);
  }

  provider(name?: string): ProviderConfig {
    const key = name ?? this.registry.defaultProvider;
    const provider = this.registry.providers.get(key);
    if (!provider) {
      throw new AssayError('LLM_CONFIG_INVALID', `No LLM provider is named "${key}": configured providers are ${[...this.registry.providers.keys()].join(', ')} (add it to the file named by ASSAY_LLM_CONFIG)`, {
        provider: key,
      });
    }
    return provider;
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    const provider = this.provider(request.provider);
    await this.ensureConfigured(provider);
    const sdk = this.sdk(provider);
    const timeoutMs = Math.max(1, Math.ceil(request.timeoutMs ?? provider.timeoutMs));
    const estimatedTokens = estimateTokens(request);
    const started = performance.now();
    let lastFailure: AttemptFailure | undefined;

    let attempts = 0;
    while (attempts < provider.maxAttempts) {
      attempts++;
      const lease = await this.governor.acquire(provider.governorKey, { estimatedTokens, leaseMs: timeoutMs + this.leaseMarginMs, signal: request.signal });
      let outcome: AttemptOutcome;
      try {
        outcome = await this.attempt(sdk, provider, request, timeoutMs);
      } catch (error) {
        // Cancelled by the caller: nothing was used that we know of.
        await this.governor.release(lease, { usedTokens: 0 });
        throw error;
      }

      if (outcome.ok) {
        await this.governor.release(lease, { usedTokens: outcome.usage.totalTokens || estimatedTokens });
        const { cost, costNote } = priceOf(provider, request.model, outcome.model, outcome.usage);
        return {
          content: outcome.content,
          model: outcome.model,
          provider: provider.name,
          usage: outcome.usage,
          cost,
          costNote,
          attempts,
          latencyMs: performance.now() - started,
          attemptLatencyMs: outcome.latencyMs,
          finishReason: outcome.finishReason,
          requestId: outcome.requestId,
        };
      }

      const failure = outcome.failure;
      lastFailure = failure;
      // A Retry-After (on a 429, or a 503 that says when to come back) pauses the provider for everyone.
      const pauseMs = failure.kind === 'rate_limited' || failure.kind === 'unavailable' ? (failure.retryAfterMs ?? 0) : 0;
      await this.governor.release(lease, { usedTokens: 0, pauseMs });
      if (failure.kind === 'bad_request' || attempts === provider.maxAttempts) break;
      // With a Retry-After the governor's pause does the waiting (the next acquire returns after it);
      // otherwise back off here, without holding a slot.
      if (!(pauseMs > 0)) await sleep(backoffMs(provider, attempts), request.signal);
    }
    throw finalError(lastFailure!, { provider, model: request.model, attempts, elapsedMs: performance.now() - started, timeoutMs });
  }

  /** Stops waiting callers (they reject); calls in flight finish and release their slots. */
  async close(): Promise<void> {
    await this.governor.close();
  }

  private async attempt(
    sdk: OpenAI,
    provider: ProviderConfig,
    request: ChatRequest,
    timeoutMs: number,
  ): Promise<AttemptOutcome> {
    if (request.signal?.aborted) throw request.signal.reason ?? new Error('The LLM call was cancelled');
    // Our own timer covers the whole attempt, body included (the SDK's timeout stops at the headers).
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timeout'));
    }, timeoutMs);
    const onCallerAbort = () => controller.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const sent = performance.now();
    try {
      const body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
        model: request.model,
        messages: request.messages.map((m) => ({ role: m.role, content: m.content })) as OpenAI.Chat.ChatCompletionMessageParam[],
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.topP !== undefined ? { top_p: request.topP } : {}),
        ...(request.maxTokens !== undefined ? { [provider.maxTokensParam]: request.maxTokens } : {}),
        ...(request.responseFormat !== undefined ? { response_format: request.responseFormat } : {}),
      };
      const { data, request_id } = await sdk.chat.completions.create(body, { timeout: timeoutMs, signal: controller.signal, maxRetries: 0 }).withResponse();
      const choice = data?.choices?.[0];
      if (!choice?.message) {
        return { ok: false, failure: { kind: 'unavailable', message: 'the answer had no choices (not an OpenAI-compatible chat completion?)' } };
      }
      const usage: TokenUsage = data.usage
        ? { promptTokens: data.usage.prompt_tokens ?? 0, completionTokens: data.usage.completion_tokens ?? 0, totalTokens: data.usage.total_tokens ?? (data.usage.prompt_tokens ?? 0) + (data.usage.completion_tokens ?? 0) }
        : EMPTY_USAGE;
      return {
        ok: true,
        content: choice.message.content ?? '',
        model: data.model || request.model,
        usage,
        finishReason: choice.finish_reason ?? null,
        requestId: request_id,
        latencyMs: performance.now() - sent,
      };
    } catch (error) {
      if (request.signal?.aborted && !timedOut) throw request.signal.reason ?? error;
      return { ok: false, failure: classifyFailure(error, timedOut) };
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  private ensureConfigured(provider: ProviderConfig): Promise<void> {
    let done = this.configured.get(provider.governorKey);
    if (!done) {
      done = this.governor.configure(provider.governorKey, provider);
      done.catch(() => this.configured.delete(provider.governorKey));
      this.configured.set(provider.governorKey, done);
    }
    return done;
  }

  private sdk(provider: ProviderConfig): OpenAI {
    let sdk = this.sdks.get(provider.name);
    if (!sdk) {
      sdk = new OpenAI({
        baseURL: provider.baseURL,
        // Local servers (vLLM, Ollama) take no key, but the package insists on one.
        apiKey: (provider.apiKeyEnv && process.env[provider.apiKeyEnv]) || 'no-key',
        maxRetries: 0,
        timeout: provider.timeoutMs,
      });
      this.sdks.set(provider.name, sdk);
    }
    return sdk;
  }
}

/** Prompt characters / 4 plus the completion allowance: charged to the TPM bucket until the real usage is known. */
function estimateTokens(request: ChatRequest): number {
  const chars = request.messages.reduce((sum, m) => sum + m.content.length, 0);
  return Math.ceil(chars / 4) + (request.maxTokens ?? 0);
}

/** Exponential with "equal jitter": half the doubled delay is fixed, half random, so backoff really grows. */
export function backoffMs(provider: Pick<ProviderConfig, 'retryBaseMs' | 'retryMaxMs'>, attempt: number): number {
  const ceiling = Math.min(provider.retryMaxMs, provider.retryBaseMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function priceOf(provider: ProviderConfig, requested: string, answered: string, usage: TokenUsage): { cost: number; costNote?: string } {
  const price: ModelPrice | undefined = provider.prices[requested] ?? provider.prices[answered];
  if (!price) return { cost: 0, costNote: `no price configured for model "${requested}" on provider "${provider.name}" (prices in ASSAY_LLM_CONFIG): cost counted as 0` };
  return { cost: (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1_000_000 };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('The LLM call was cancelled'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('The LLM call was cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
