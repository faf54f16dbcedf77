import { AssayError } from '@assay/contracts';
import { stubOutage, stubReply, stubSequence } from '@assay/testing';
import { Client } from 'pg';
import { LlmTestEnv, startLlmTestEnv } from '../llm-test-support';
import type { ChatRequest, LlmClient } from './llm-client';

// Timing assertions are one-sided or generous: CI has 2 cores and other suites run alongside.

const ask = (client: LlmClient, provider: string, content: string, extra: Partial<ChatRequest> = {}) =>
  client.chat({ provider, model: 'stub-model', messages: [{ role: 'user', content }], ...extra });

const failureOf = async (promise: Promise<unknown>): Promise<AssayError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AssayError);
  return error as AssayError;
};

describe('LlmClient with the shared rate governor', () => {
  let env: LlmTestEnv;

  beforeAll(async () => {
    env = await startLlmTestEnv({ processes: 2 });
  });

  afterAll(async () => {
    await env?.close();
  });

  beforeEach(() => {
    env.stub.setBehaviour(undefined);
    env.stub.reset();
  });

  it('two processes with a limit of 8 never have more than 8 calls at the provider, and finish every call', async () => {
    env.stub.setBehaviour(() => stubReply.answer('ok', { latencyMs: { min: 100, max: 200 } }));
    const [a, b] = await env.clients({ name: 'limited', maxConcurrency: 8 });
    const perProcess = 40;
    const started = Date.now();
    const results = await Promise.all([
      ...Array.from({ length: perProcess }, (_, i) => ask(a, 'limited', `a-${i}`)),
      ...Array.from({ length: perProcess }, (_, i) => ask(b, 'limited', `b-${i}`)),
    ]);
    const seconds = (Date.now() - started) / 1000;

    expect(results).toHaveLength(2 * perProcess);
    expect(results.every((r) => r.content === 'ok' && r.attempts === 1)).toBe(true);
    expect(env.stub.requests).toHaveLength(2 * perProcess);
    expect(env.stub.maxInFlightSeen).toBeLessThanOrEqual(8);
    expect(env.stub.maxInFlightSeen).toBeGreaterThanOrEqual(6); // the limit is used, not just respected
    // 80 calls × 0.15 s ÷ 8 = 1.5 s at best; far more would mean slots sit idle.
    expect(seconds).toBeLessThan(6);
    const [{ held }] = await env.dbs[0].query<{ held: number }>(`select count(*) as held from llm_slots where governor_key = 'limited' and holder is not null`);
    expect(held).toBe(0);
  });

  it('hands a freed slot to the next caller of the same process only up to its fair share: a second process gets its half', async () => {
    env.stub.setBehaviour(() => stubReply.answer('ok', { latencyMs: { min: 50, max: 50 } }));
    const [a, b] = await env.clients({ name: 'fair-share', maxConcurrency: 4 });
    let aLastDoneAt = 0;
    const aCalls = Array.from({ length: 60 }, (_, i) => ask(a, 'fair-share', `a-${i}`).then(() => void (aLastDoneAt = Date.now())));
    // A holds every slot and has many callers queued before B asks for any.
    while (env.stub.requests.length < 8) await new Promise((resolve) => setTimeout(resolve, 5));
    let bLastDoneAt = 0;
    const bCalls = Array.from({ length: 8 }, (_, i) => ask(b, 'fair-share', `b-${i}`).then(() => void (bLastDoneAt = Date.now())));
    await Promise.all([...aCalls, ...bCalls]);

    // Handing every freed slot to A's next caller would leave B waiting until A's queue is empty.
    expect(bLastDoneAt).toBeLessThan(aLastDoneAt);
    expect(env.stub.maxInFlightSeen).toBeLessThanOrEqual(4);
    expect(env.stub.requests).toHaveLength(68);
  });

  it('honours a 429 Retry-After for every process: no request reaches the provider before the time said', async () => {
    const [a, b] = await env.clients({ name: 'retry-after' });
    env.stub.setBehaviour(stubSequence([stubReply.rateLimited({ retryAfterSeconds: 1 })]));
    const first = ask(a, 'retry-after', 'first');
    await env.stub.waitFor((requests) => requests[0]?.status === 429);
    const refusedAt = env.stub.requests[0].respondedAt!;
    // Calls that start while the provider is paused, from both processes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const others = [ask(a, 'retry-after', 'a2'), ask(b, 'retry-after', 'b1'), ask(b, 'retry-after', 'b2')];
    const results = await Promise.all([first, ...others]);

    expect(results[0].attempts).toBe(2);
    const later = env.stub.requests.slice(1);
    expect(later).toHaveLength(4);
    for (const request of later) expect(request.arrivedAt).toBeGreaterThanOrEqual(refusedAt + 1000);
  });

  it('honours retry-after-ms too', async () => {
    const [a] = await env.clients({ name: 'retry-after-ms' });
    env.stub.setBehaviour(stubSequence([stubReply.rateLimited({ retryAfterMs: 600 })]));
    const result = await ask(a, 'retry-after-ms', 'x');
    expect(result.attempts).toBe(2);
    const [refused, retried] = env.stub.requests;
    expect(retried.arrivedAt - refused.respondedAt!).toBeGreaterThanOrEqual(600);
  });

  it('fails with LLM_RATE_LIMITED after maxAttempts of 429s', async () => {
    const [a] = await env.clients({ name: 'always-429', maxAttempts: 3 });
    env.stub.setBehaviour(() => stubReply.rateLimited({ retryAfterMs: 50 }));
    const error = await failureOf(ask(a, 'always-429', 'x'));
    expect(error.code).toBe('LLM_RATE_LIMITED');
    expect(error.message).toMatch(/rate limited \(HTTP 429.*after 3 attempts.*ASSAY_LLM_RPM/s);
    expect(env.stub.requests).toHaveLength(3);
  });

  it('retries 500s with growing backoff and succeeds', async () => {
    const [a] = await env.clients({ name: 'flaky', retryBaseMs: 200, retryMaxMs: 2_000 });
    env.stub.setBehaviour(stubSequence([stubReply.error(500), stubReply.error(502)]));
    const result = await ask(a, 'flaky', 'x');
    expect(result).toMatchObject({ content: 'stub answer', attempts: 3 });
    const [r1, r2, r3] = env.stub.requests;
    // Equal jitter: the n-th wait is at least half of base × 2^(n-1).
    expect(r2.arrivedAt - r1.respondedAt!).toBeGreaterThanOrEqual(100);
    expect(r3.arrivedAt - r2.respondedAt!).toBeGreaterThanOrEqual(200);
  });

  it('gives up on a provider that hangs with LLM_TIMEOUT after maxAttempts', async () => {
    const [a] = await env.clients({ name: 'hanging', timeoutMs: 300, maxAttempts: 3, retryBaseMs: 50 });
    env.stub.setBehaviour(() => stubReply.hang());
    const started = Date.now();
    const error = await failureOf(ask(a, 'hanging', 'x'));
    expect(error.code).toBe('LLM_TIMEOUT');
    expect(error.details).toMatchObject({ attempts: 3, provider: 'hanging', timeoutMs: 300 });
    expect(error.message).toMatch(/did not answer stub-model within 300 ms, 3 attempts/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(env.stub.requests).toHaveLength(3);
    await env.stub.waitFor((requests) => requests.every((r) => r.outcome === 'aborted'));
  });

  it('rides out a provider that is down for 2 s: every call completes', async () => {
    const [a, b] = await env.clients({ name: 'outage', maxAttempts: 10, retryBaseMs: 200, retryMaxMs: 1_000 });
    env.stub.setBehaviour(stubOutage({ forMs: 2_000, status: 503 }, () => stubReply.answer('back', { latencyMs: 20 })));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(i % 2 ? a : b, 'outage', `call-${i}`)));
    expect(results.every((r) => r.content === 'back')).toBe(true);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    expect(env.stub.requests.filter((r) => r.status === 503).length).toBeGreaterThan(0);
  });

  it('fails a 4xx other than 429 at once with LLM_BAD_REQUEST', async () => {
    const [a] = await env.clients({ name: 'bad', apiKeyEnv: 'STUB_KEY' });
    env.stub.setBehaviour(() => stubReply.error(401, { message: 'Incorrect API key provided' }));
    const error = await failureOf(ask(a, 'bad', 'x'));
    expect(error.code).toBe('LLM_BAD_REQUEST');
    expect(error.message).toMatch(/HTTP 401: Incorrect API key provided\. Check the API key in STUB_KEY/);
    expect(env.stub.requests).toHaveLength(1);
  });

  it('holds requests per minute across processes (rpm 60: about one call a second)', async () => {
    const [a, b] = await env.clients({ name: 'rpm', rpm: 60, maxConcurrency: 8 });
    await Promise.all(Array.from({ length: 5 }, (_, i) => ask(i % 2 ? a : b, 'rpm', `call-${i}`)));
    const arrivals = env.stub.requests.map((r) => r.arrivedAt).sort((x, y) => x - y);
    expect(arrivals).toHaveLength(5);
    // The bucket holds one second's worth (1 call): the n-th call comes n seconds after the first, never sooner.
    arrivals.forEach((at, i) => expect(at - arrivals[0]).toBeGreaterThanOrEqual(i * 1000 - 50));
  });

  it('holds tokens per minute across processes, settling estimates with the real usage', async () => {
    // 1200 tpm = 20 tokens/s; each call is charged 20 up front (1 prompt + 19 maxTokens) and uses 20.
    const [a, b] = await env.clients({ name: 'tpm', tpm: 1200, maxConcurrency: 8 });
    env.stub.setBehaviour(() => stubReply.answer('x', { usage: { prompt_tokens: 10, completion_tokens: 10 } }));
    await Promise.all(Array.from({ length: 4 }, (_, i) => ask(i % 2 ? a : b, 'tpm', 'x', { maxTokens: 19 })));
    const arrivals = env.stub.requests.map((r) => r.arrivedAt).sort((x, y) => x - y);
    // One second's tokens up front, then 20 tokens a second: the 4th call ~2 s after the first.
    expect(arrivals[3] - arrivals[0]).toBeGreaterThanOrEqual(1_900);
  });

  it('configures the governor again when its (unlogged) tables were emptied by a database crash', async () => {
    const [a] = await env.clients({ name: 'emptied' });
    await ask(a, 'emptied', 'before');
    await env.dbs[0].query(`delete from llm_governors where governor_key = 'emptied'`);
    expect((await ask(a, 'emptied', 'after')).content).toBe('stub answer');
  });

  it('gives a crashed holder’s slot back when its lease ends', async () => {
    const [a] = await env.clients({ name: 'crash', maxConcurrency: 1 });
    await ask(a, 'crash', 'configures the governor');
    // A process takes the only slot with a 1.5 s lease, then dies without releasing it.
    const crashed = new Client({ connectionString: env.testDb.url });
    await crashed.connect();
    const { rows } = await crashed.query(`select * from assay_llm_acquire('crash', array['dead-process:1'], array[0]::float8[], array[1500])`);
    expect(rows[0]).toMatchObject({ granted_holder: 'dead-process:1', granted_slot: 1 });
    const takenAt = Date.now();
    await crashed.end();

    const result = await ask(a, 'crash', 'after the crash');
    expect(result.content).toBe('stub answer');
    expect(Date.now() - takenAt).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - takenAt).toBeLessThan(5_000);
  });

  it('reports usage, cost from the provider’s prices, and a note when a model has no price', async () => {
    const [a] = await env.clients({ name: 'priced', prices: { 'stub-model': { inputPerMTok: 2, outputPerMTok: 8 } } });
    env.stub.setBehaviour(() => stubReply.answer('x', { usage: { prompt_tokens: 1000, completion_tokens: 500 } }));
    const priced = await ask(a, 'priced', 'x');
    expect(priced.usage).toEqual({ promptTokens: 1000, completionTokens: 500, totalTokens: 1500 });
    expect(priced.cost).toBeCloseTo((1000 * 2 + 500 * 8) / 1e6, 10);
    expect(priced.costNote).toBeUndefined();
    expect(priced).toMatchObject({ model: 'stub-model', provider: 'priced', attempts: 1, finishReason: 'stop' });
    expect(priced.latencyMs).toBeGreaterThan(0);

    const unpriced = await ask(a, 'priced', 'x', { model: 'other-model' });
    expect(unpriced.cost).toBe(0);
    expect(unpriced.costNote).toMatch(/no price configured for model "other-model"/);
  });

  it('sends the sampling parameters and response format', async () => {
    const [a] = await env.clients({ name: 'params' });
    await ask(a, 'params', 'x', { temperature: 0.2, topP: 0.9, maxTokens: 64, responseFormat: { type: 'json_object' } });
    expect(env.stub.requests[0].body).toMatchObject({ model: 'stub-model', temperature: 0.2, top_p: 0.9, max_tokens: 64, response_format: { type: 'json_object' } });
  });

  it('refuses an unknown provider with LLM_CONFIG_INVALID', async () => {
    const [a] = await env.clients({ name: 'known' });
    const error = await failureOf(ask(a, 'unknown', 'x'));
    expect(error.code).toBe('LLM_CONFIG_INVALID');
    expect(error.message).toContain('No LLM provider is named "unknown"');
  });

  it('stops a waiting call when its signal aborts, and frees nothing it did not hold', async () => {
    const [a] = await env.clients({ name: 'abort', maxConcurrency: 1 });
    env.stub.setBehaviour(() => stubReply.answer('slow', { latencyMs: 500 }));
    const holding = ask(a, 'abort', 'first');
    await env.stub.waitFor((requests) => requests.length === 1);
    const controller = new AbortController();
    const waiting = ask(a, 'abort', 'second', { signal: controller.signal });
    controller.abort(new Error('no longer needed'));
    await expect(waiting).rejects.toThrow('no longer needed');
    expect((await holding).content).toBe('slow');
    expect(env.stub.requests).toHaveLength(1);
  });
});
