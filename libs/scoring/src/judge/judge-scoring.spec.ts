import type { Delivery } from '@assay/bus';
import type { MetricSnapshot } from '@assay/contracts';
import { Database } from '@assay/database';
import { JudgeCache, LlmClient, LlmJudge, llmMigrations } from '@assay/llm';
import { createTestDatabase, OpenAIStub, startOpenAIStub, stubReply, TestDatabase } from '@assay/testing';
import { randomBytes } from 'node:crypto';
import { createScoringHandler } from '../worker/scoring-handler';
import type { RunMetric, ScoringHandlerDeps, ScoringOutcome } from '../worker/types';
import type { JudgeService } from './judge-scoring';

/**
 * AI metrics in the scoring handler against the real LLM client, judge and judge cache (a fresh
 * PostgreSQL database) and the OpenAI stub (a real HTTP server).
 */

type Settlement = 'ack' | 'nak' | 'term';

interface FakeDelivery extends Delivery {
  readonly settlements: Settlement[];
}

let nextId = 1;
function delivery(type: 'RecordAdded' | 'RecordRescoreRequested', data: Record<string, unknown>, deliveryCount = 1): FakeDelivery {
  const settlements: Settlement[] = [];
  return {
    event: {
      eventId: `e${nextId++}`,
      type,
      schemaVersion: 1,
      data,
      metadata: {},
      streamId: `run-${data.runId as string}`,
      streamPosition: 1,
      globalPosition: 1,
      transactionId: '1',
      createdAt: new Date(0),
    },
    deliveryCount,
    maxDeliver: 5,
    settlements,
    ack: () => void settlements.push('ack'),
    nak: () => void settlements.push('nak'),
    term: () => void settlements.push('term'),
    working: () => undefined,
  };
}

const record = (runId: string, i: number) => ({
  runId,
  recordId: `${runId}-r${i}`,
  testcaseId: null,
  inputs: { question: `question ${i}` },
  outputs: { answer: `answer ${i}` },
  expected: { answer: `answer ${i}` },
});

const judgeMetric = (extra: Partial<MetricSnapshot> = {}): MetricSnapshot => ({
  metricId: 'helpful',
  version: 1,
  name: 'helpful',
  evalType: 'AI',
  outputType: 'INT',
  passingThreshold: 4,
  promptTemplate: 'Question: {{ inputs.question }}\nAnswer: {{ outputs.answer }}\n{{ guidelines }}',
  guidelines: 'Be fair.',
  evalModelName: null,
  temperature: null,
  ...extra,
});
const exact: MetricSnapshot = {
  metricId: 'exact',
  version: 1,
  name: 'exact',
  evalType: 'HEURISTIC',
  outputType: 'BOOLEAN',
  heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
  passingThreshold: 1,
};

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('AI metrics: the LLM judge in the scoring handler', () => {
  let testDb: TestDatabase;
  let db: Database;
  let stub: OpenAIStub;
  let llm: LlmClient;
  let service: JudgeService;

  beforeAll(async () => {
    testDb = await createTestDatabase('assay_judge');
    db = await Database.connect({ url: testDb.url, migrations: llmMigrations, applicationName: 'judge-spec', poolMax: 4 });
    stub = await startOpenAIStub({ answer: (request) => JSON.stringify({ score: 4, reasoning: `fine: ${request.prompt.split('\n')[0]}` }), usage: { prompt_tokens: 100, completion_tokens: 10 } });
    const provider = `stub-${randomBytes(3).toString('hex')}`;
    llm = await LlmClient.connect({
      db,
      providers: [
        {
          name: provider,
          baseURL: stub.baseURL,
          maxConcurrency: 4,
          timeoutMs: 2_000,
          maxAttempts: 2,
          retryBaseMs: 20,
          retryMaxMs: 50,
          prices: { 'judge-model': { inputPerMTok: 1, outputPerMTok: 2 } },
        },
      ],
    });
    const cache = new JudgeCache(db);
    service = { judge: new LlmJudge(llm, cache), cache, defaultModel: 'judge-model', provider };
  });

  afterAll(async () => {
    await llm?.close();
    await stub?.close();
    await db?.close();
    await testDb?.drop();
  });

  beforeEach(() => {
    stub.setBehaviour(undefined);
    stub.reset();
  });

  function handler(runs: Record<string, readonly RunMetric[]>, overrides: Partial<ScoringHandlerDeps> = {}) {
    const recorded: ScoringOutcome[] = [];
    const handle = createScoringHandler({
      metricsOfRun: async (runId) => runs[runId] ?? [],
      recordOutcomes: async (outcomes) => void recorded.push(...outcomes),
      logger: quiet,
      judge: service,
      ...overrides,
    });
    return { handle, recorded };
  }

  it('judges a batch concurrently within the provider limit, and each score carries model, tokens and cost', async () => {
    stub.setBehaviour(() => stubReply.json({ score: 5, reasoning: 'complete' }, { latencyMs: 150, usage: { prompt_tokens: 100, completion_tokens: 10 } }));
    const { handle, recorded } = handler({ run1: [judgeMetric(), exact] });
    const batch = Array.from({ length: 16 }, (_, i) => delivery('RecordAdded', record('run1', i)));
    const started = Date.now();
    await handle(batch);
    const elapsed = Date.now() - started;

    expect(batch.map((d) => d.settlements)).toEqual(batch.map(() => ['ack']));
    const judged = recorded.filter((o) => o.metric.metricId === 'helpful');
    expect(judged).toHaveLength(16);
    expect(judged[0]).toMatchObject({
      kind: 'score',
      value: 5,
      reasoning: 'complete',
      judge: { model: 'judge-model', tokens: { prompt: 100, completion: 10 }, cached: false },
    });
    expect((judged[0] as { judge: { cost: number } }).judge.cost).toBeCloseTo((100 * 1 + 10 * 2) / 1e6, 12);
    expect(recorded.filter((o) => o.metric.metricId === 'exact')).toHaveLength(16);
    // 16 calls of 150 ms, 4 at a time: about 600 ms, far from 2.4 s one by one.
    expect(stub.maxInFlightSeen).toBe(4);
    expect(elapsed).toBeLessThan(1_800);
    // The rendered template went to the model, with the format instruction first.
    const sent = stub.requests[0].messages;
    expect(sent[0].role).toBe('system');
    expect(sent[1].content).toMatch(/^Question: question \d+\nAnswer: answer \d+\nBe fair\.$/);
  });

  it('stores and acks each record once its judge calls are answered, not at the slowest call of the batch', async () => {
    let answerTheSlowOne!: () => void;
    const slowCall = new Promise<void>((resolve) => (answerTheSlowOne = resolve));
    stub.setBehaviour(async (request) => {
      if (/question 0\n/.test(request.prompt)) await slowCall;
      return stubReply.json({ score: 5, reasoning: 'ok' });
    });
    const { handle, recorded } = handler({ run9: [judgeMetric({ metricId: 'streamed' }), exact] });
    const batch = Array.from({ length: 6 }, (_, i) => delivery('RecordAdded', record('run9', i)));
    const done = handle(batch);

    const deadline = Date.now() + 1_500;
    while (!batch.slice(1).every((d) => d.settlements.length > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(batch.slice(1).map((d) => d.settlements)).toEqual(batch.slice(1).map(() => ['ack']));
    expect(batch[0].settlements).toEqual([]); // its call is still out
    expect(recorded.filter((o) => o.recordId !== 'run9-r0')).toHaveLength(10); // 5 records × 2 metrics
    expect(recorded.filter((o) => o.recordId === 'run9-r0')).toEqual([]);

    answerTheSlowOne();
    await done;
    expect(batch[0].settlements).toEqual(['ack']);
    expect(recorded.filter((o) => o.recordId === 'run9-r0').map((o) => [o.metric.metricId, o.kind]).sort()).toEqual([['exact', 'score'], ['streamed', 'score']]);
  });

  it('answers unchanged records from the judge cache (no model call); a re-score that bypasses it asks again, in its round', async () => {
    const metric = judgeMetric({ metricId: 'cached-metric' });
    const { handle, recorded } = handler({ run2: [metric] });
    const batch = () => Array.from({ length: 5 }, (_, i) => delivery('RecordAdded', record('run2', i)));
    await handle(batch());
    expect(stub.requests).toHaveLength(5);

    stub.reset();
    await handle(batch());
    expect(stub.requests).toHaveLength(0);
    expect(recorded.slice(5)).toEqual(recorded.slice(5).map(() => expect.objectContaining({ kind: 'score', value: 4, judge: { model: 'judge-model', tokens: { prompt: 0, completion: 0 }, cost: 0, cached: true } })));

    // rescoreRun(bypassCache: true): the run now scores the metric in round 1.
    const rescored = handler({ run2: [{ ...metric, round: 1 }] });
    const rescore = Array.from({ length: 5 }, (_, i) => delivery('RecordRescoreRequested', { ...record('run2', i), round: 1, metricIds: ['cached-metric'], bypassCache: true }));
    await rescored.handle(rescore);
    expect(stub.requests).toHaveLength(5);
    expect(rescored.recorded).toEqual(rescored.recorded.map(() => expect.objectContaining({ kind: 'score', round: 1, judge: expect.objectContaining({ cached: false }) })));

    // The same re-score without bypass: all from the cache again.
    stub.reset();
    const again = handler({ run2: [{ ...metric, round: 2 }] });
    await again.handle(Array.from({ length: 5 }, (_, i) => delivery('RecordRescoreRequested', { ...record('run2', i), round: 2, metricIds: ['cached-metric'], bypassCache: false })));
    expect(stub.requests).toHaveLength(0);
    expect(again.recorded.map((o) => o.round)).toEqual([2, 2, 2, 2, 2]);
  });

  it('a malformed answer is asked again, then recorded as JUDGE_OUTPUT_INVALID with the raw text and what the calls cost', async () => {
    stub.setBehaviour(() => stubReply.malformed('I would say four out of five'));
    const { handle, recorded } = handler({ run3: [judgeMetric({ metricId: 'strict' }), exact] });
    const d = delivery('RecordAdded', record('run3', 1));
    await handle([d]);
    expect(d.settlements).toEqual(['ack']);
    expect(stub.requests).toHaveLength(3); // 1 + 2 invalid retries
    const failure = recorded.find((o) => o.metric.metricId === 'strict');
    expect(failure).toMatchObject({ kind: 'failure', code: 'JUDGE_OUTPUT_INVALID', reason: expect.stringContaining('I would say four out of five') });
    expect(failure?.judge).toMatchObject({ model: 'judge-model', cached: false });
    expect(failure?.judge?.tokens.prompt).toBeGreaterThan(0);
    expect(recorded.find((o) => o.metric.metricId === 'exact')).toMatchObject({ kind: 'score', value: 1 });
  });

  it('a provider outage leaves the record to a later delivery (its other outcomes kept), and fails it only on the last one', async () => {
    stub.setBehaviour(() => stubReply.error(503, { message: 'down for maintenance' }));
    const { handle, recorded } = handler({ run4: [judgeMetric({ metricId: 'outage' }), exact] });
    const early = delivery('RecordAdded', record('run4', 1), 1);
    await handle([early]);
    expect(early.settlements).toEqual(['nak']);
    expect(recorded.map((o) => [o.metric.metricId, o.kind])).toEqual([['exact', 'score']]);

    const last = delivery('RecordAdded', record('run4', 2), 5);
    await handle([last]);
    expect(last.settlements).toEqual(['ack']);
    expect(recorded.find((o) => o.recordId === 'run4-r2' && o.metric.metricId === 'outage')).toMatchObject({
      kind: 'failure',
      code: 'LLM_UNAVAILABLE',
      attempts: 5,
      reason: expect.stringMatching(/was unavailable.*Gave up after 5 deliveries.*rescoreRun/s),
    });
  });

  it('a refused request (HTTP 400) fails at once with LLM_BAD_REQUEST, not retried', async () => {
    stub.setBehaviour(() => stubReply.error(400, { message: 'model not found' }));
    const { handle, recorded } = handler({ run5: [judgeMetric({ metricId: 'refused' })] });
    const d = delivery('RecordAdded', record('run5', 1));
    await handle([d]);
    expect(d.settlements).toEqual(['ack']);
    expect(stub.requests).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ kind: 'failure', code: 'LLM_BAD_REQUEST', reason: expect.stringContaining('model not found') });
  });

  it('a template that prints a field the record lacks fails that record with TEMPLATE_RENDER_FAILED, without a call', async () => {
    const { handle, recorded } = handler({ run6: [judgeMetric({ metricId: 'render', promptTemplate: 'Context: {{ inputs.context }}' })] });
    await handle([delivery('RecordAdded', record('run6', 1))]);
    expect(stub.requests).toHaveLength(0);
    expect(recorded[0]).toMatchObject({ kind: 'failure', code: 'TEMPLATE_RENDER_FAILED', reason: expect.stringMatching(/missing from the record.*line 1/) });
  });

  it('uses the metric’s own model and temperature', async () => {
    const { handle } = handler({ run7: [judgeMetric({ metricId: 'own-model', evalModelName: 'judge-large', temperature: 0.7 })] });
    await handle([delivery('RecordAdded', record('run7', 1))]);
    expect(stub.requests[0].body).toMatchObject({ model: 'judge-large', temperature: 0.7, response_format: { type: 'json_object' } });
  });

  it('loads a run again when its re-score stream moved, and scores a re-score request with the named metrics only, in the run’s round', async () => {
    let pins: RunMetric[] = [judgeMetric({ metricId: 'j8' }), exact];
    let version = 0;
    const loads: number[] = [];
    const { handle, recorded } = handler(
      {},
      {
        metricsOfRun: async () => {
          loads.push(version);
          return pins;
        },
        rescoreVersions: async (runIds) => new Map(runIds.map((id) => [id, version])),
      },
    );
    await handle([delivery('RecordAdded', record('run8', 1))]);
    await handle([delivery('RecordAdded', record('run8', 2))]);
    expect(loads).toEqual([0]);

    pins = [judgeMetric({ metricId: 'j8', version: 2, round: 1 } as Partial<MetricSnapshot>), exact];
    version = 1;
    recorded.length = 0;
    await handle([delivery('RecordRescoreRequested', { ...record('run8', 1), round: 1, metricIds: ['j8'], bypassCache: false })]);
    expect(loads).toEqual([0, 1]);
    expect(recorded.map((o) => [o.metric.metricId, o.metric.version, o.round])).toEqual([['j8', 2, 1]]);
    expect('round' in recorded[0].metric).toBe(false);
  });
});
