/**
 * kickoffRun end to end in one process, as `npm start` runs it: the real backend on PostgreSQL,
 * the in-process bus, the projectors, the execution worker and the scoring worker (with the LLM
 * judge), and a real OpenAI-compatible HTTP server (the stub) as the model.
 */
import 'reflect-metadata';
import { InProcessBus } from '@assay/bus';
import { Backend, connectBackend } from '@assay/backend';
import { executionsStreamId } from '@assay/domain';
import type { LogProcessor, StoredEvent } from '@assay/event-store';
import { createExecutionHandler, ExecutionLogger, PlaygroundUpdate, republishPendingExecutions } from '@assay/execution';
import { JudgeCache, LlmClient, LlmJudge } from '@assay/llm';
import { RunView, startRunProjections } from '@assay/runs';
import { createScoringHandler, JudgeService } from '@assay/scoring';
import { startSystemProjections } from '@assay/systems';
import { createTestDatabase, OpenAIStub, startOpenAIStub, stubReply, TestDatabase } from '@assay/testing';
import { startTestsetProjections } from '@assay/testsets';

const quiet: ExecutionLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const PROMPT = 'Question: {{ inputs.question }}';

/** The "model": answers question n with "answer n" (every tenth wrongly), and judges with a 4. */
function answer(request: { messages: readonly { role: string; content: string }[]; prompt: string }): string {
  if (request.messages.some((m) => m.content.includes('single JSON object'))) return JSON.stringify({ score: 4, reasoning: 'good enough' });
  const n = Number(/question (\d+)/.exec(request.prompt)?.[1] ?? -1);
  return n % 10 === 0 ? 'I do not know' : `answer ${n}`;
}

describe('kickoffRun: the server executes the system version and scores every record', () => {
  let database: TestDatabase;
  let backend: Backend;
  let bus: InProcessBus;
  let stub: OpenAIStub;
  let llm: LlmClient;
  let processors: LogProcessor[];
  let projectId: string;
  let testsetId: string;
  let systemVersionId: string;
  let exactId: string;
  let judgedId: string;
  const runViews = new Map<string, RunView[]>();
  const executionHandler = () =>
    createExecutionHandler({ store: backend.store, llm: async () => llm, logger: quiet, workingIntervalMs: 1_000 });

  beforeAll(async () => {
    database = await createTestDatabase('assay_kickoff');
    backend = await connectBackend({ url: database.url, applicationName: 'kickoff-spec' });
    const { db, store } = backend;
    stub = await startOpenAIStub({ answer });
    // The backend's own LLM client (the playground's) reads the environment, as in production.
    process.env.OPENAI_BASE_URL = stub.baseURL;
    llm = await LlmClient.connect({
      db,
      providers: [{ name: 'openai', baseURL: stub.baseURL, maxConcurrency: 16, timeoutMs: 5_000, maxAttempts: 3, retryBaseMs: 50, retryMaxMs: 200 }],
    });
    bus = new InProcessBus({ store, pollIntervalMs: 50, logger: quiet });
    processors = [startRunProjections({ db, store, bus, pollIntervalMs: 50 }), startTestsetProjections({ db, store, pollIntervalMs: 50 }), startSystemProjections({ db, store, pollIntervalMs: 50 })];
    bus.onBroadcast('run-updated', (view) => {
      const run = view as RunView;
      runViews.set(run.id, [...(runViews.get(run.id) ?? []), run]);
    });
    const judge: JudgeService = { judge: new LlmJudge(llm, new JudgeCache(db)), cache: new JudgeCache(db), defaultModel: 'judge-model' };
    await bus.consume(
      { name: 'scoring', eventTypes: ['RecordAdded'], maxInFlight: 256, maxBatch: 100, ackWaitMs: 30_000, maxDeliver: 5, backoffMs: [200] },
      createScoringHandler({
        metricsOfRun: (runId) => backend.runs.commands.metricsOfRun(runId),
        recordOutcomes: async (outcomes) => void (await backend.runs.commands.recordOutcomes(outcomes)),
        logger: quiet,
        judge,
      }),
    );
    await bus.consume({ name: 'execution', eventTypes: ['ExecutionsScheduled'], maxInFlight: 16, maxBatch: 4, ackWaitMs: 30_000, maxDeliver: 20, backoffMs: [300] }, executionHandler());

    projectId = (await backend.runs.commands.createProject({ name: 'kickoff' })).id;
    const testset = await backend.testsets.commands.createTestset({
      projectId,
      name: 'questions',
      jsonSchema: { type: 'object', required: ['question'], properties: { question: { type: 'string' }, answer: { type: 'string' } } },
      fieldMapping: { inputs: ['question'], expected: ['answer'] },
    });
    testsetId = testset.id;
    await backend.testsets.commands.addTestcases(
      testsetId,
      Array.from({ length: 200 }, (_, i) => ({ jsonData: { question: `question ${i}`, answer: `answer ${i}` } })),
    );
    const system = await backend.systems.commands.createSystem({ projectId, name: 'bot' });
    systemVersionId = (
      await backend.systems.commands.createSystemVersion({ systemId: system.id, name: 'v1', config: { modelName: 'stub-model', temperature: 0, messages: [{ role: 'user', content: PROMPT }] } })
    ).id;
    exactId = (
      await backend.runs.commands.createMetric({ projectId, name: 'exact', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH', outputField: 'output', expectedField: 'answer' } })
    ).id;
    judgedId = (
      await backend.runs.commands.createMetric({ projectId, name: 'helpful', evalType: 'AI', outputType: 'INT', promptTemplate: 'Question: {{ inputs.question }}\nAnswer: {{ outputs.output }}' })
    ).id;
    await Promise.all(processors.map((p) => p.waitUntilCaughtUp()));
  }, 60_000);

  afterAll(async () => {
    delete process.env.OPENAI_BASE_URL;
    await bus?.close();
    await Promise.all((processors ?? []).map((p) => p.stop()));
    await llm?.close();
    await stub?.close();
    await backend?.close();
    await database?.drop();
  });

  async function waitForRun(runId: string, done: (run: RunView) => boolean, timeoutMs = 30_000): Promise<RunView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await backend.runs.queries.getRun(runId);
      if (run && done(run)) return run;
      if (Date.now() > deadline) throw new Error(`run ${runId} not done within ${timeoutMs} ms: ${JSON.stringify(run)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function allRecords(runId: string) {
    const records = [];
    for await (const record of backend.runs.queries.streamRecords(runId)) records.push(record);
    return records;
  }

  const eventCount = async (type: string) => Number((await backend.db.query<{ n: string }>('select count(*) as n from assay_events where type = $1', [type]))[0].n);

  it('executes 200 testcases, scores every record with a heuristic and an AI metric, moving AWAITING_EXECUTION → EXECUTING → SCORING → DONE', async () => {
    stub.setBehaviour(() => undefined);
    const run = await backend.execution.kickoffRun({ projectId, testsetId, systemVersionId, metricIds: [exactId, judgedId], notes: 'first kickoff' });
    expect(run).toMatchObject({ source: 'KICKOFF', trials: 1, numExpectedRecords: 200, testsetId, systemVersionId, phase: 'AWAITING_EXECUTION', status: 'PENDING' });

    const done = await waitForRun(run.id, (r) => r.phase === 'DONE');
    expect(done).toMatchObject({ status: 'COMPLETED', numRecords: 200, numScores: 400, numFailures: 0, numExecutionFailures: 0 });

    const records = await allRecords(run.id);
    expect(new Set(records.map((r) => r.testcaseId)).size).toBe(200);
    for (const record of records) {
      expect(record.trial).toBe(0);
      expect(record.outputs).toEqual({ output: expect.any(String) });
      expect(record.execution).toMatchObject({ model: 'stub-model', provider: 'openai', tokens: { prompt: expect.any(Number), completion: expect.any(Number) }, cost: 0 });
      expect(record.scores.map((s) => s.metricId).sort()).toEqual([exactId, judgedId].sort());
    }
    const aggregates = await backend.runs.queries.getAggregates(run.id);
    expect(aggregates.find((a) => a.metricId === exactId)).toMatchObject({ count: 200, passed: 180 });
    expect(aggregates.find((a) => a.metricId === judgedId)).toMatchObject({ count: 200, mean: 4 });

    // The live pushes went through the phases in order, never back.
    const order = ['AWAITING_EXECUTION', 'EXECUTING', 'SCORING', 'AWAITING_HUMAN', 'DONE'];
    const phases = [run.phase!, ...(runViews.get(run.id) ?? []).map((view) => view.phase!)];
    expect(phases.at(-1)).toBe('DONE');
    expect(phases).toContain('EXECUTING');
    for (let i = 1; i < phases.length; i++) expect(order.indexOf(phases[i])).toBeGreaterThanOrEqual(order.indexOf(phases[i - 1]));
    // Status never claimed COMPLETED while executions were still missing.
    for (const view of runViews.get(run.id) ?? []) if (view.phase === 'EXECUTING') expect(view.status).not.toBe('COMPLETED');
  }, 60_000);

  it('the same idempotencyKey returns the same run, sequentially and under concurrent calls: one run, one set of executions', async () => {
    const input = { projectId, testsetId, systemVersionId, metricIds: [exactId], idempotencyKey: 'nightly-2026-11-27' };
    const planned = await eventCount('ExecutionsPlanned');
    const concurrent = await Promise.all(Array.from({ length: 6 }, () => backend.execution.kickoffRun(input)));
    const again = await backend.execution.kickoffRun(input);
    expect(new Set([...concurrent, again].map((run) => run.id)).size).toBe(1);
    expect(await eventCount('ExecutionsPlanned')).toBe(planned + 1);
    // The key is per project: in another project it claims nothing (here the project's objects are refused as missing).
    const other = (await backend.runs.commands.createProject({ name: 'other' })).id;
    await expect(backend.execution.kickoffRun({ ...input, projectId: other })).rejects.toMatchObject({ code: 'SYSTEM_VERSION_NOT_FOUND' });
    const done = await waitForRun(again.id, (r) => r.phase === 'DONE');
    expect(done).toMatchObject({ status: 'COMPLETED', numRecords: 200 });
  }, 60_000);

  it('a redelivered execution batch adds no second record, also when two workers run it at once', async () => {
    const run = await backend.execution.kickoffRun({ projectId, testsetId, systemVersionId, metricIds: [exactId], trials: 1 });
    const batches = (await backend.store.readStream(executionsStreamId(run.id))).filter((event) => event.type === 'ExecutionsScheduled');
    // Two more workers take every batch while the bus's own worker does too.
    const handlers = [executionHandler(), executionHandler()];
    const acks: string[] = [];
    await Promise.all(handlers.flatMap((handler) => batches.map((event) => handler([delivery(event, acks)]))));
    await waitForRun(run.id, (r) => r.phase === 'DONE');
    // And once more after it is all done: nothing is called, nothing added.
    const calls = stub.requests.length;
    await handlers[0](batches.map((event) => delivery(event, acks)));
    expect(stub.requests.length).toBe(calls);
    expect(acks.every((a) => a === 'ack')).toBe(true);
    await Promise.all(processors.map((p) => p.waitUntilCaughtUp()));
    const final = await backend.runs.queries.getRun(run.id);
    expect(final).toMatchObject({ numRecords: 200, numScores: 200, status: 'COMPLETED' });
    const records = await allRecords(run.id);
    expect(records).toHaveLength(200);
    expect(new Set(records.map((r) => r.testcaseId)).size).toBe(200);
  }, 60_000);

  it('a provider down for a while, then back: executions wait and are retried, none lost or failed', async () => {
    const downUntil = Date.now() + 1_500;
    stub.setBehaviour(() => (Date.now() < downUntil ? stubReply.error(503, { message: 'down for maintenance' }) : undefined));
    try {
      const run = await backend.execution.kickoffRun({ projectId, testsetId, systemVersionId, metricIds: [exactId] });
      const done = await waitForRun(run.id, (r) => r.phase === 'DONE', 45_000);
      expect(done).toMatchObject({ status: 'COMPLETED', numRecords: 200, numScores: 200, numExecutionFailures: 0 });
      expect(stub.requests.some((r) => r.status === 503)).toBe(true);
    } finally {
      stub.setBehaviour(undefined);
    }
  }, 60_000);

  it('the sweep publishes again the batches of a run still missing executions (a lost message), and nothing once it is done', async () => {
    const downUntil = Date.now() + 1_000;
    stub.setBehaviour(() => (Date.now() < downUntil ? stubReply.error(503) : undefined));
    try {
      const run = await backend.execution.kickoffRun({ projectId, testsetId, systemVersionId, metricIds: [exactId] });
      await waitForRun(run.id, (r) => r.phase === 'AWAITING_EXECUTION');
      const published: StoredEvent[] = [];
      const sweep = () => republishPendingExecutions({ sql: backend.db, store: backend.store, bus: { publish: async (events) => void published.push(...events) }, olderThanMs: 0 });
      expect(await sweep()).toBeGreaterThan(0);
      expect(published.every((event) => event.type === 'ExecutionsScheduled' && (event.data as { runId: string }).runId === run.id)).toBe(true);
      await waitForRun(run.id, (r) => r.phase === 'DONE', 45_000);
      published.length = 0;
      expect(await sweep()).toBe(0);
    } finally {
      stub.setBehaviour(undefined);
    }
  }, 60_000);

  it('trials = 2: two records per testcase (trials 0 and 1); runAgain starts the same run again with the metrics current versions', async () => {
    const run = await backend.execution.kickoffRun({ projectId, testsetId, systemVersionId, metricIds: [exactId], trials: 2 });
    expect(run).toMatchObject({ numExpectedRecords: 400, trials: 2 });
    await waitForRun(run.id, (r) => r.phase === 'DONE');
    const records = await allRecords(run.id);
    expect(records).toHaveLength(400);
    const byTestcase = new Map<string, number[]>();
    for (const record of records) byTestcase.set(record.testcaseId!, [...(byTestcase.get(record.testcaseId!) ?? []), record.trial!]);
    expect(byTestcase.size).toBe(200);
    for (const trials of byTestcase.values()) expect(trials.sort()).toEqual([0, 1]);

    await backend.runs.commands.updateMetric({ metricId: exactId, description: 'now version 2' });
    const again = await backend.execution.runAgain(run.id);
    expect(again.id).not.toBe(run.id);
    expect(again).toMatchObject({ source: 'KICKOFF', trials: 2, numExpectedRecords: 400, testsetId, systemVersionId, metrics: [expect.objectContaining({ id: exactId, version: 2 })] });
    const done = await waitForRun(again.id, (r) => r.phase === 'DONE');
    expect(done).toMatchObject({ status: 'COMPLETED', numRecords: 400 });
  }, 60_000);

  it('an execution that fails for good shows the run ERROR with the reason, the others complete', async () => {
    stub.setBehaviour((request) => (request.prompt === 'Question: question 7' ? stubReply.error(400, { message: 'This model does not like question 7' }) : undefined));
    try {
      const run = await backend.execution.kickoffRun({ projectId, testsetId, systemVersionId, metricIds: [exactId] });
      const done = await waitForRun(run.id, (r) => r.phase === 'DONE');
      expect(done).toMatchObject({ status: 'ERROR', numRecords: 199, numExecutionFailures: 1, numScores: 199 });
      const [failure] = await backend.execution.executionFailures(run.id);
      expect(failure).toMatchObject({ code: 'LLM_BAD_REQUEST', trial: 0, attempts: 1 });
      expect(failure.reason).toMatch(/This model does not like question 7/);
      const recorded = new Set((await allRecords(run.id)).map((r) => r.testcaseId));
      expect(failure.testcaseId).not.toBeNull();
      expect(recorded.has(failure.testcaseId)).toBe(false);
    } finally {
      stub.setBehaviour(undefined);
    }
  }, 60_000);

  it('playground: streams outputs and scores of a few testcases and stores nothing; kickoffRun takes the same inputs (source PLAYGROUND)', async () => {
    const before = Number((await backend.db.query<{ n: string }>('select count(*) as n from assay_events'))[0].n);
    const config = { modelName: 'stub-model', messages: [{ role: 'user', content: PROMPT }] };
    const testcases = [
      { inputs: { question: 'question 1' }, expected: { answer: 'answer 1' } },
      { inputs: { question: 'question 10' }, expected: { answer: 'answer 10' } },
    ];
    const updates: PlaygroundUpdate[] = [];
    for await (const update of await backend.execution.playground({ projectId, config, testcases, metricIds: [exactId, judgedId] })) updates.push(update);
    // The playground's calls (the system's and the judge's) go through the backend's LLM client, configured from the environment.
    expect(updates.map((u) => u.kind)).toEqual(['STARTED', expect.any(String), expect.any(String), expect.any(String), expect.any(String), 'DONE']);
    expect(updates.filter((u) => u.kind === 'OUTPUT')).toHaveLength(2);
    const done = updates.at(-1)!;
    expect(done.items!.map((item) => [item.outputs, item.scores.map((s) => [s.metricId, s.value])])).toEqual([
      [{ output: 'answer 1' }, [[exactId, 1], [judgedId, 4]]],
      [{ output: 'I do not know' }, [[exactId, 0], [judgedId, 4]]],
    ]);
    const after = Number((await backend.db.query<{ n: string }>('select count(*) as n from assay_events'))[0].n);
    expect(after).toBe(before);

    const run = await backend.execution.kickoffRun({ projectId, config, testcases, metricIds: [exactId] });
    expect(run).toMatchObject({ source: 'PLAYGROUND', numExpectedRecords: 2, testsetId: null, systemVersionId: null });
    const finished = await waitForRun(run.id, (r) => r.phase === 'DONE');
    expect(finished).toMatchObject({ status: 'COMPLETED', numRecords: 2 });
    const again = await backend.execution.runAgain(run.id);
    expect(again).toMatchObject({ source: 'PLAYGROUND', numExpectedRecords: 2 });
  }, 60_000);

  it('refuses what cannot run, with codes a person can act on', async () => {
    const base = { projectId, testsetId, systemVersionId, metricIds: [exactId] };
    await expect(backend.execution.kickoffRun({ ...base, trials: 0 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(backend.execution.kickoffRun({ ...base, systemVersionId: null })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(backend.execution.kickoffRun({ ...base, config: { k: 1 }, systemVersionId: null })).rejects.toMatchObject({ code: 'SYSTEM_CONFIG_INVALID' });
    await expect(backend.execution.kickoffRun({ ...base, testcaseIds: ['nope'] })).rejects.toMatchObject({ code: 'TESTCASE_NOT_FOUND' });
    await expect(backend.execution.kickoffRun({ ...base, metricIds: ['nope'] })).rejects.toMatchObject({ code: 'METRIC_NOT_FOUND' });
    await expect(backend.execution.kickoffRun({ ...base, testsetId: null, testcases: [{ question: 'no inputs key' }] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  function delivery(event: StoredEvent, settled: string[]) {
    return {
      event,
      deliveryCount: 1,
      maxDeliver: 20,
      ack: () => void settled.push('ack'),
      nak: () => void settled.push('nak'),
      term: () => void settled.push('term'),
      working: () => undefined,
    };
  }
});
