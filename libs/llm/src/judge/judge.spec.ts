import { AssayError } from '@assay/contracts';
import { stubReply, stubSequence } from '@assay/testing';
import type { LlmClient } from '../client/llm-client';
import { LlmTestEnv, startLlmTestEnv } from '../llm-test-support';
import { LlmJudge } from './judge';
import { JudgeCache } from './judge-cache';

describe('LlmJudge', () => {
  let env: LlmTestEnv;
  let llm: LlmClient;
  let judge: LlmJudge;

  const correctness = (answer: string) => ({
    provider: 'judge',
    model: 'judge-model',
    outputType: 'BOOLEAN' as const,
    messages: [{ role: 'user' as const, content: `Question: capital of France?\nAnswer: ${answer}\nIs the answer correct?` }],
  });

  beforeAll(async () => {
    env = await startLlmTestEnv({ processes: 1 });
    [llm] = await env.clients({ name: 'judge', prices: { 'judge-model': { inputPerMTok: 1, outputPerMTok: 1 } } });
    judge = new LlmJudge(llm, new JudgeCache(env.dbs[0]));
  });

  afterAll(async () => {
    await env?.close();
  });

  beforeEach(() => {
    env.stub.reset();
    // A judge that really reads the prompt: correct when the answer says Paris.
    env.stub.setBehaviour((req) => stubReply.json({ score: /Answer: Paris/.test(req.prompt), reasoning: `judged ${req.prompt.split('\n')[1]}` }));
  });

  it('asks for JSON and returns the score, reasoning, tokens and cost', async () => {
    const result = await judge.judge(correctness('Paris'));
    expect(result).toMatchObject({ score: 1, reasoning: 'judged Answer: Paris', model: 'judge-model', provider: 'judge', calls: 1, cached: false });
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    expect(result.cost).toBeGreaterThan(0);
    expect((await judge.judge(correctness('Lyon'))).score).toBe(0);

    const sent = env.stub.requests[0].body;
    expect(sent.response_format).toEqual({ type: 'json_object' });
    expect(sent.temperature).toBe(0);
    expect(sent.messages[0]).toMatchObject({ role: 'system', content: expect.stringContaining('single JSON object') });
  });

  it('retries a malformed answer, telling the model what was wrong, and accepts fenced JSON', async () => {
    env.stub.setBehaviour(stubSequence([stubReply.malformed('Looks right to me!'), stubReply.answer('```json\n{"score": 4, "reasoning": "mostly"}\n```')]));
    const result = await judge.judge({ ...correctness('Paris'), outputType: 'INT' });
    expect(result).toMatchObject({ score: 4, reasoning: 'mostly', calls: 2 });
    const retry = env.stub.requests[1].messages;
    expect(retry[retry.length - 2]).toEqual({ role: 'assistant', content: 'Looks right to me!' });
    expect(retry[retry.length - 1].content).toContain('not a JSON object');
  });

  it('gives up after the retries with JUDGE_OUTPUT_INVALID carrying the raw text', async () => {
    env.stub.setBehaviour(() => stubReply.answer('{"score": 7, "reasoning": "off the scale"}'));
    const error = await judge.judge({ ...correctness('Paris'), outputType: 'INT', maxInvalidRetries: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssayError);
    const failure = error as AssayError;
    expect(failure.code).toBe('JUDGE_OUTPUT_INVALID');
    expect(failure.details.raw).toBe('{"score": 7, "reasoning": "off the scale"}');
    expect(failure.details.calls).toBe(3);
    expect(failure.message).toContain('"score" must be a whole number from 1 to 5, not 7');
    expect(failure.message).toContain('off the scale');
    expect(env.stub.requests).toHaveLength(3);
  });

  it('answers a repeated judgement from the cache without a model call, unless bypassed', async () => {
    const cache = { metricId: 'metric-correct', metricVersion: 1 };
    const first = await judge.judge({ ...correctness('Paris'), cache });
    expect(first.cached).toBe(false);
    expect(env.stub.requests).toHaveLength(1);

    const again = await judge.judge({ ...correctness('Paris'), cache });
    expect(env.stub.requests).toHaveLength(1);
    expect(again).toMatchObject({ score: 1, reasoning: first.reasoning, cached: true, calls: 0, cost: 0 });
    expect(again.original).toMatchObject({ usage: first.usage, cost: first.cost });

    // Anything that changes what is sent, or a new metric version, is a miss.
    await judge.judge({ ...correctness('Lyon'), cache });
    await judge.judge({ ...correctness('Paris'), cache: { ...cache, metricVersion: 2 } });
    await judge.judge({ ...correctness('Paris'), cache, temperature: 0.5 });
    expect(env.stub.requests).toHaveLength(4);

    const bypassed = await judge.judge({ ...correctness('Paris'), cache: { ...cache, bypass: true } });
    expect(bypassed.cached).toBe(false);
    expect(env.stub.requests).toHaveLength(5);
  });

  it('reads many cache entries in one statement', async () => {
    const cacheStore = new JudgeCache(env.dbs[0]);
    const keys = ['Rome', 'Madrid'].map((answer) => judge.cacheKey({ ...correctness(answer), cache: { metricId: 'batch', metricVersion: 1 } })!);
    await judge.judge({ ...correctness('Rome'), cache: { metricId: 'batch', metricVersion: 1 } });
    const found = await cacheStore.getMany(keys);
    expect(found.size).toBe(1);
    expect([...found.values()][0]).toMatchObject({ score: 0, reasoning: 'judged Answer: Rome' });
  });
});
