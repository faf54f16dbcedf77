import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenAIStub, startOpenAIStub, stubOutage, StubRequest, stubReply } from '@assay/testing';
import { gql } from '../support/graphql-client';
import { addRecordsInBatches } from '../support/run-flow';
import { waitForStatus } from '../support/run-checks';
import { ServiceStack, startScoringProcess, startServiceStack, waitFor } from '../support/service-stack';

/**
 * AI metrics end to end (issue 4): the service stack as separate processes (two scoring
 * processes) calling a real OpenAI-compatible HTTP stub through the shared rate governor. Each
 * scoring process sends its own API key, so the stub can tell them apart.
 */
const LIMIT = 8;
const PRICE = { inputPerMTok: 0.15, outputPerMTok: 0.6 };
const TEMPLATE = 'Question: {{ inputs.question }}\nAnswer: {{ outputs.answer }}\nReference: {{ expected.answer }}';

/** The judge's answer for a record: a score from the record's number, so values are checkable. */
function judgeAnswer(request: StubRequest): string {
  const n = Number(/answer number (\d+)/.exec(request.prompt)?.[1] ?? 0);
  return JSON.stringify({ reasoning: `record ${n} looks fine`, score: 1 + (n % 5) });
}

describe('AI metrics with an LLM judge, end to end', () => {
  let stub: OpenAIStub;
  let stack: ServiceStack;
  let projectId: string;

  beforeAll(async () => {
    stub = await startOpenAIStub({ answer: judgeAnswer, latencyMs: { min: 20, max: 60 }, usage: { prompt_tokens: 120, completion_tokens: 20 } });
    const dir = mkdtempSync(join(tmpdir(), 'assay-llm-'));
    const config = join(dir, 'llm.json');
    writeFileSync(config, JSON.stringify({ providers: { openai: { retryBaseMs: 200, retryMaxMs: 800, prices: { 'judge-model': PRICE } } } }));
    stack = await startServiceStack({
      scoringProcesses: 1,
      env: {
        OPENAI_BASE_URL: stub.baseURL,
        OPENAI_API_KEY: 'scoring-1',
        ASSAY_LLM_MAX_CONCURRENCY: String(LIMIT),
        ASSAY_LLM_MAX_ATTEMPTS: '3',
        ASSAY_LLM_TIMEOUT_MS: '5000',
        ASSAY_LLM_CONFIG: config,
        ASSAY_JUDGE_MODEL: 'judge-model',
        // Small batches spread records over both processes; short backoff and more deliveries ride out the outage test.
        SCORING_MAX_IN_FLIGHT: '64',
        SCORING_MAX_BATCH: '32',
        SCORING_BACKOFF_MS: '500,1000,2000',
        SCORING_MAX_DELIVER: '10',
      },
    });
    await startScoringProcess(stack, { OPENAI_API_KEY: 'scoring-2' });
    ({ createProject: { id: projectId } } = await gql(stack.httpUrl, 'mutation { createProject(input: { name: "judges" }) { id } }'));
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await stub?.close();
  }, 30_000);

  beforeEach(() => {
    stub.setBehaviour(undefined);
    stub.reset();
  });

  async function createRun(name: string, template = TEMPLATE) {
    const metric = (input: string) => gql(stack.httpUrl, `mutation ($p: ID!) { createMetric(input: { projectId: $p, ${input} }) { id } }`, { p: projectId });
    const ai = (await metric(`name: "${name}", evalType: AI, outputType: INT, promptTemplate: ${JSON.stringify(template)}`)).createMetric.id as string;
    const exact = (await metric(`name: "${name} exact", evalType: HEURISTIC, outputType: BOOLEAN, heuristic: { kind: EXACT_MATCH, outputField: "answer", expectedField: "answer" }`)).createMetric
      .id as string;
    const { createRun } = await gql(stack.httpUrl, 'mutation ($p: ID!, $m: [ID!]!) { createRun(input: { projectId: $p, metricIds: $m }) { id } }', { p: projectId, m: [ai, exact] });
    return { runId: createRun.id as string, ai, exact };
  }

  async function judgeScores(runId: string, metricId: string) {
    const { run } = await gql(
      stack.httpUrl,
      `query ($id: ID!) { run(id: $id) { records(first: 1000) { edges { node { id outputs
         scores { metricId metricVersion round value reasoning judgeModel tokens cost cached error { code reason } } } } } } }`,
      { id: runId },
    );
    return run.records.edges.map((edge: any) => ({ id: edge.node.id, answer: edge.node.outputs.answer, score: edge.node.scores.find((s: any) => s.metricId === metricId) }));
  }

  let shared: { runId: string; ai: string; exact: string };
  const RECORDS = 300;

  it('a run of 300 records with an AI and a heuristic metric completes with every score; two processes together never exceed 8 calls in flight', async () => {
    shared = await createRun('helpful');
    await addRecordsInBatches(stack.httpUrl, shared.runId, RECORDS, 150);
    const done = await waitForStatus(stack, shared.runId, 'COMPLETED', 60_000);
    expect(done).toMatchObject({ numRecords: RECORDS, numScores: 2 * RECORDS, numFailures: 0 });

    expect(stub.maxInFlightSeen).toBeLessThanOrEqual(LIMIT);
    expect(stub.maxInFlightSeen).toBeGreaterThanOrEqual(4); // calls of a batch go out together
    const keys = new Set(stub.requests.map((r) => r.headers.authorization));
    expect(keys).toEqual(new Set(['Bearer scoring-1', 'Bearer scoring-2']));
    expect(new Set(stub.requests.map((r) => r.prompt)).size).toBe(RECORDS);

    const scores = await judgeScores(shared.runId, shared.ai);
    for (const { answer, score } of scores) {
      const n = Number(/answer number (\d+)/.exec(answer)?.[1]);
      expect(score).toMatchObject({ metricVersion: 1, round: 0, value: 1 + (n % 5), reasoning: `record ${n} looks fine`, judgeModel: 'judge-model', tokens: 140, cached: false });
    }
    const { run } = await gql(stack.httpUrl, 'query ($id: ID!) { run(id: $id) { cost { judgeTokens judgeCost total systemTokens perMetric { metricId tokens cost } } } }', {
      id: shared.runId,
    });
    const perCall = (120 * PRICE.inputPerMTok + 20 * PRICE.outputPerMTok) / 1e6;
    expect(run.cost.judgeTokens).toBe(140 * stub.requests.length);
    expect(run.cost.judgeCost).toBeCloseTo(perCall * stub.requests.length, 10);
    expect(run.cost.total).toBeCloseTo(run.cost.judgeCost, 12);
    expect(run.cost.perMetric).toEqual([
      { metricId: shared.ai, tokens: run.cost.judgeTokens, cost: run.cost.judgeCost },
      { metricId: shared.exact, tokens: 0, cost: 0 },
    ]);
  }, 90_000);

  it('re-scoring unchanged records makes no model calls; bypassing the cache makes them all, once each', async () => {
    const RESCORE = 'mutation ($id: ID!, $m: [ID!], $b: Boolean) { rescoreRun(runId: $id, metricIds: $m, bypassCache: $b) { status numScores } }';
    const first = await gql(stack.httpUrl, RESCORE, { id: shared.runId, m: [shared.ai] });
    // The run counts the new round at once: the heuristic's scores stand, the AI metric's start over
    // (the workers may already have answered some from the cache).
    expect(first.rescoreRun.numScores).toBeGreaterThanOrEqual(RECORDS);
    expect(first.rescoreRun.numScores < 2 * RECORDS ? 'SCORING' : 'COMPLETED').toBe(first.rescoreRun.status);
    await waitForStatus(stack, shared.runId, 'COMPLETED', 30_000);
    expect(stub.requests).toHaveLength(0);
    const cached = await judgeScores(shared.runId, shared.ai);
    expect(cached.every(({ score }: any) => score.round === 1 && score.cached === true && score.cost === 0 && score.tokens === 0)).toBe(true);

    await gql(stack.httpUrl, RESCORE, { id: shared.runId, m: [shared.ai], b: true });
    const done = await waitForStatus(stack, shared.runId, 'COMPLETED', 60_000);
    expect(done).toMatchObject({ numScores: 2 * RECORDS, numFailures: 0 });
    expect(stub.requests).toHaveLength(RECORDS);
    expect(new Set(stub.requests.map((r) => r.prompt)).size).toBe(RECORDS);
    expect(stub.maxInFlightSeen).toBeLessThanOrEqual(LIMIT);
    const asked = await judgeScores(shared.runId, shared.ai);
    expect(asked.every(({ score }: any) => score.round === 2 && score.cached === false && score.tokens === 140)).toBe(true);
  }, 90_000);

  it('honours a 429 Retry-After across both processes: no call starts before the time said', async () => {
    let seen = 0;
    stub.setBehaviour((request) => {
      if (++seen === 5) return stubReply.rateLimited({ retryAfterSeconds: 1 });
      return stubReply.answer(judgeAnswer(request), { latencyMs: 50 });
    });
    const { runId } = await createRun('rate-limited');
    await addRecordsInBatches(stack.httpUrl, runId, 40, 40);
    const done = await waitForStatus(stack, runId, 'COMPLETED', 30_000);
    expect(done).toMatchObject({ numScores: 80, numFailures: 0 });

    const refusal = stub.requests.find((r) => r.status === 429)!;
    const pausedUntil = refusal.respondedAt! + 1000;
    // Calls granted before the pause was known may still land in the first moments; none after.
    const early = stub.requests.filter((r) => r.arrivedAt > refusal.respondedAt! + 150 && r.arrivedAt < pausedUntil);
    expect(early).toEqual([]);
    expect(stub.requests.filter((r) => r.arrivedAt >= pausedUntil).length).toBeGreaterThan(0);
  }, 60_000);

  it('a provider down for 4 s, then back: the run completes without lost or failed records', async () => {
    stub.setBehaviour(stubOutage({ forMs: 4_000, status: 503 }, (request) => stubReply.answer(judgeAnswer(request), { latencyMs: 30 })));
    const { runId, ai } = await createRun('outage');
    await addRecordsInBatches(stack.httpUrl, runId, 40, 40);
    const done = await waitForStatus(stack, runId, 'COMPLETED', 60_000);
    expect(done).toMatchObject({ numRecords: 40, numScores: 80, numFailures: 0 });
    expect(stub.requests.filter((r) => r.status === 503).length).toBeGreaterThan(40);
    // The client's own retries (3 attempts, well under 4 s) ran out: the records waited on the bus and came back.
    expect(stack.logs()).toContain('judge calls failed for now');
    const scores = await judgeScores(runId, ai);
    expect(scores.filter(({ score }: any) => score?.value >= 1 && score.error === null)).toHaveLength(40);
  }, 90_000);

  it('malformed judge output is asked again, then recorded as JUDGE_OUTPUT_INVALID with the raw text: the run shows ERROR with the record and reason', async () => {
    stub.setBehaviour((request) => (request.messages.some((m) => m.content.includes('MALFORMED')) ? stubReply.malformed('Looks right to me, maybe a four?') : undefined));
    const { runId, ai } = await createRun('malformed', `MALFORMED\n${TEMPLATE}`);
    await addRecordsInBatches(stack.httpUrl, runId, 3, 3);
    await waitFor(async () => (await waitForStatus(stack, runId, 'ERROR', 30_000)).numFailures === 3 && (await judgeScores(runId, ai)).every((r: any) => r.score), 30_000, () => stack.logs());
    const { run } = await gql(stack.httpUrl, 'query ($id: ID!) { run(id: $id) { status numScores numFailures } }', { id: runId });
    expect(run).toEqual({ status: 'ERROR', numScores: 3, numFailures: 3 });
    for (const { score } of await judgeScores(runId, ai)) {
      expect(score.value).toBeNull();
      expect(score.error.code).toBe('JUDGE_OUTPUT_INVALID');
      expect(score.error.reason).toContain('Looks right to me, maybe a four?');
    }
    // One call and two more with what was wrong, per record; never redelivered.
    expect(stub.requests).toHaveLength(9);
    expect(stub.requests.filter((r) => r.prompt.startsWith('That answer could not be used'))).toHaveLength(6);
  }, 60_000);
});
