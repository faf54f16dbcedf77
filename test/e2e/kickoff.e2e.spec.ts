import { OpenAIStub, startOpenAIStub, StubRequest } from '@assay/testing';
import { gql } from '../support/graphql-client';
import { expectOneScoreEventPerRecordAndMetric } from '../support/run-checks';
import { allRecords, scoreAnomalies } from '../support/run-flow';
import { ServiceStack, startScoringProcess, startServiceStack, waitFor } from '../support/service-stack';

/**
 * kickoffRun in service mode: gateway, runs and two scoring processes (each with its execution
 * worker) as separate Node processes over real NATS JetStream and PostgreSQL, the model a real
 * OpenAI-compatible HTTP stub. The relay publishes only the consumed event types
 * (CONSUMED_EVENT_TYPES), so this is what shows a kickoff's ExecutionsScheduled and RecordAdded
 * still reach the workers through JetStream.
 */
const TESTCASES = 200;
const SYSTEM_MODEL = 'stub-model';
const JUDGE_MODEL = 'judge-model';

/** The judge asks for JSON in its instructions (as kickoff-bench tells them apart); the system is asked a question. */
const isJudgeCall = (request: StubRequest) => request.messages.some((m) => m.content.includes('single JSON object'));

/** The "model": the system answers question n with "answer n" (every tenth wrongly); the judge gives a 4. */
function answer(request: StubRequest): string {
  if (isJudgeCall(request)) return JSON.stringify({ reasoning: 'good enough', score: 4 });
  const n = Number(/question (\d+)/.exec(request.prompt)?.[1] ?? -1);
  return n % 10 === 0 ? 'I do not know' : `answer ${n}`;
}

const RUN = 'query ($id: ID!) { run(id: $id) { id status phase source numRecords numScores numFailures numExecutionFailures } }';
const KICKOFF = 'mutation ($input: KickoffRunInput!) { kickoffRun(input: $input) { id status phase source } }';

describe('kickoffRun in service mode, end to end', () => {
  let stub: OpenAIStub;
  let stack: ServiceStack;

  beforeAll(async () => {
    stub = await startOpenAIStub({ answer, latencyMs: { min: 5, max: 20 } });
    stack = await startServiceStack({
      scoringProcesses: 0,
      env: { OPENAI_BASE_URL: stub.baseURL, OPENAI_API_KEY: 'unused', ASSAY_LLM_MAX_CONCURRENCY: '32', ASSAY_JUDGE_MODEL: JUDGE_MODEL },
    });
    // Two scoring processes, both consuming before the kickoff; each sends its own key.
    await Promise.all([startScoringProcess(stack, { OPENAI_API_KEY: 'scoring-1' }), startScoringProcess(stack, { OPENAI_API_KEY: 'scoring-2' })]);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await stub?.close();
  }, 30_000);

  it(`executes and scores a testset of ${TESTCASES} with an AI and a heuristic metric; the same idempotencyKey returns the same run and calls no model again`, async () => {
    const url = stack.httpUrl;
    const { createProject } = await gql(url, 'mutation { createProject(input: { name: "kickoff" }) { id } }');
    const projectId = createProject.id as string;
    const { createTestset } = await gql(url, 'mutation ($p: ID!) { createTestset(input: { projectId: $p, name: "questions", fieldMapping: { inputs: ["question"], expected: ["answer"] } }) { id } }', {
      p: projectId,
    });
    const testsetId = createTestset.id as string;
    const items = Array.from({ length: TESTCASES }, (_, i) => ({ jsonData: { question: `question ${i}`, answer: `answer ${i}` } }));
    await gql(url, 'mutation ($t: ID!, $items: [TestcaseInput!]!) { addTestcases(testsetId: $t, items: $items) { id } }', { t: testsetId, items });
    const { createSystem } = await gql(url, 'mutation ($p: ID!) { createSystem(input: { projectId: $p, name: "bot" }) { id } }', { p: projectId });
    const { createSystemVersion } = await gql(
      url,
      `mutation ($s: ID!) { createSystemVersion(input: { systemId: $s, name: "v1", config: { modelName: "${SYSTEM_MODEL}", messages: [{ role: "user", content: "{{ inputs.question }}" }] } }) { id } }`,
      { s: createSystem.id },
    );
    const systemVersionId = createSystemVersion.id as string;
    const metric = async (input: string) => (await gql(url, `mutation ($p: ID!) { createMetric(input: { projectId: $p, ${input} }) { id } }`, { p: projectId })).createMetric.id as string;
    const judged = await metric('name: "helpful", evalType: AI, outputType: INT, promptTemplate: "Question: {{ inputs.question }}\\nAnswer: {{ outputs.output }}"');
    const exact = await metric('name: "exact", evalType: HEURISTIC, outputType: BOOLEAN, heuristic: { kind: EXACT_MATCH, outputField: "output", expectedField: "answer" }');
    // The kickoff reads the testset and the system version from their read models (projected by the runs process).
    await waitFor(
      async () => {
        const { testset, systemVersion } = await gql(url, 'query ($t: ID!, $v: ID!) { testset(id: $t) { numTestcases } systemVersion(id: $v) { id } }', { t: testsetId, v: systemVersionId });
        return testset?.numTestcases === TESTCASES && systemVersion !== null;
      },
      30_000,
      () => stack.logs(),
    );
    stub.reset();

    const input = { projectId, testsetId, systemVersionId, metricIds: [judged, exact], idempotencyKey: 'kickoff-e2e' };
    const { kickoffRun: kicked } = await gql(url, KICKOFF, { input });
    expect(kicked).toMatchObject({ source: 'KICKOFF', status: 'PENDING' });
    // Again while it runs: the same run.
    expect((await gql(url, KICKOFF, { input })).kickoffRun.id).toBe(kicked.id);

    let run: any;
    await waitFor(
      async () => {
        ({ run } = await gql(url, RUN, { id: kicked.id }));
        return run.phase === 'DONE';
      },
      120_000,
      () => `run: ${JSON.stringify(run)}; stub: ${stub.requests.length} requests\n${stack.logs()}`,
    );
    expect(run).toEqual({
      id: kicked.id,
      status: 'COMPLETED',
      phase: 'DONE',
      source: 'KICKOFF',
      numRecords: TESTCASES,
      numScores: 2 * TESTCASES,
      numFailures: 0,
      numExecutionFailures: 0,
    });

    // One record per testcase, with the system's answer as its output and exactly one score per metric.
    const records = await allRecords(url, kicked.id);
    expect(records).toHaveLength(TESTCASES);
    expect(new Set(records.map((r) => r.testcaseId)).size).toBe(TESTCASES);
    for (const record of records) {
      const n = Number(/question (\d+)/.exec((record.inputs as { question: string }).question)?.[1]);
      expect(record.outputs).toEqual({ output: n % 10 === 0 ? 'I do not know' : `answer ${n}` });
      expect(record.scores.find((s) => s.metricId === judged)).toMatchObject({ value: 4, reasoning: 'good enough' });
      expect(record.scores.find((s) => s.metricId === exact)).toMatchObject({ passed: n % 10 !== 0 });
    }
    expect(scoreAnomalies(records, [judged, exact])).toEqual({ missing: [], doubled: [] });
    await expectOneScoreEventPerRecordAndMetric(stack.database.url, 2 * TESTCASES);

    // Every model call once: one system call and one judge call per testcase, no duplicate work.
    const judgeCalls = stub.requests.filter(isJudgeCall);
    const systemCalls = stub.requests.filter((r) => !isJudgeCall(r));
    expect(stub.requests.every((r) => r.status === 200)).toBe(true);
    expect(systemCalls).toHaveLength(TESTCASES);
    expect(judgeCalls).toHaveLength(TESTCASES);
    expect(new Set(systemCalls.map((r) => r.prompt)).size).toBe(TESTCASES);
    expect(new Set(judgeCalls.map((r) => r.prompt)).size).toBe(TESTCASES);
    expect(new Set(systemCalls.map((r) => r.model))).toEqual(new Set([SYSTEM_MODEL]));
    expect(new Set(judgeCalls.map((r) => r.model))).toEqual(new Set([JUDGE_MODEL]));
    // And both processes took part, in executing and in judging (their keys).
    const keys = new Set(['Bearer scoring-1', 'Bearer scoring-2']);
    expect(new Set(systemCalls.map((r) => r.headers.authorization))).toEqual(keys);
    expect(new Set(judgeCalls.map((r) => r.headers.authorization))).toEqual(keys);

    // The same key once it is done: the same run, no new model call, no second run in the project.
    const calls = stub.requests.length;
    const { kickoffRun: again } = await gql(url, KICKOFF, { input });
    expect(again).toMatchObject({ id: kicked.id, status: 'COMPLETED', phase: 'DONE', source: 'KICKOFF' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(stub.requests).toHaveLength(calls);
    expect((await gql(url, RUN, { id: kicked.id })).run).toEqual(run);
    const { runs } = await gql(url, 'query ($p: ID!) { runs(projectId: $p) { edges { node { id } } } }', { p: projectId });
    expect(runs.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([kicked.id]);
  }, 180_000);
});
