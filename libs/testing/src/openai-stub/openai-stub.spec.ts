import { APIConnectionError, OpenAI, RateLimitError } from 'openai';
import { OpenAIStub, startOpenAIStub, stubOutage, stubReply, stubSequence } from './openai-stub';

describe('OpenAI stub', () => {
  let stub: OpenAIStub;
  const client = () => new OpenAI({ baseURL: stub.baseURL, apiKey: 'test-key', maxRetries: 0 });
  const ask = (content = 'hello', c = client()) => c.chat.completions.create({ model: 'stub-model', messages: [{ role: 'user', content }] });

  afterEach(async () => {
    await stub?.close();
  });

  it('answers the OpenAI protocol with the configured answer and usage, and logs each request', async () => {
    stub = await startOpenAIStub({ answer: (req) => `echo: ${req.prompt}` });
    const completion = await ask('ping');
    expect(completion.choices[0].message.content).toBe('echo: ping');
    expect(completion.model).toBe('stub-model');
    expect(completion.usage).toEqual({ prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 });
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]).toMatchObject({ index: 0, path: '/v1/chat/completions', model: 'stub-model', prompt: 'ping', status: 200, outcome: 'answer' });
    expect(stub.requests[0].headers.authorization).toBe('Bearer test-key');

    // Also without the /v1 prefix, as some clients are configured.
    const res = await fetch(`${stub.url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }) });
    expect(res.status).toBe(200);
  });

  it('answers 429 with Retry-After and retry-after-ms, 5xx, and raw bodies as scripted', async () => {
    stub = await startOpenAIStub();
    stub.setBehaviour(stubSequence([stubReply.rateLimited({ retryAfterSeconds: 1, retryAfterMs: 1500 }), stubReply.error(503), stubReply.raw(200, '{not json')]));
    const error = await ask().catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.headers.get('retry-after')).toBe('1');
    expect(error.headers.get('retry-after-ms')).toBe('1500');
    await expect(ask()).rejects.toMatchObject({ status: 503 });
    await expect(ask()).rejects.toThrow();
    expect((await ask('back')).choices[0].message.content).toBe('stub answer');
    expect(stub.requests.map((r) => r.status)).toEqual([429, 503, 200, 200]);
  });

  it('counts requests in flight with latency, and keeps a hanging request until the client gives up', async () => {
    stub = await startOpenAIStub({ latencyMs: { min: 50, max: 80 } });
    await Promise.all(Array.from({ length: 5 }, () => ask()));
    expect(stub.maxInFlightSeen).toBe(5);
    expect(stub.inFlight).toBe(0);

    stub.setBehaviour(() => stubReply.hang());
    const error = await client()
      .chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { timeout: 200 })
      .catch((e) => e);
    // A timeout (under Jest the package cannot tell its own abort apart, so only the base class is certain).
    expect(error).toBeInstanceOf(APIConnectionError);
    await stub.waitFor((requests) => requests[5]?.outcome === 'aborted');
    expect(stub.inFlight).toBe(0);
  });

  it('plays an outage, then recovers', async () => {
    stub = await startOpenAIStub();
    stub.setBehaviour(stubOutage({ forMs: 300 }));
    await expect(ask()).rejects.toMatchObject({ status: 503 });
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await ask()).choices[0].message.content).toBe('stub answer');
  });

  it('closes with a hanging request open', async () => {
    stub = await startOpenAIStub({ behaviour: () => stubReply.hang() });
    const pending = ask().catch((e) => e);
    await stub.waitFor((requests) => requests.length === 1);
    await stub.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});
