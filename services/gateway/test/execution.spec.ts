import { OpenAIStub, startOpenAIStub } from '@assay/testing';
import { collect, gql, type GqlResponse, waitFor, wsClient } from './helpers';
import { RealGateway, startRealGateway } from './real-gateway';

/**
 * kickoffRun, runAgain, Run.phase/source and the playground subscription through the real gateway
 * over the real backend on PostgreSQL, with a project key; the model is the OpenAI stub (a real
 * HTTP server). No execution worker runs here: kickoffs stay AWAITING_EXECUTION (see
 * services/scoring/test/kickoff.spec.ts for runs executed to the end).
 */
describe('gateway: kickoffRun and the playground', () => {
  let gateway: RealGateway;
  let base: string;
  let stub: OpenAIStub;
  let key: string;
  let projectId: string;
  let metricId: string;
  let versionId: string;
  let testsetId: string;

  beforeAll(async () => {
    stub = await startOpenAIStub({ answer: (request) => (request.prompt.includes('France') ? 'Paris' : 'Lyon'), latencyMs: 20 });
    process.env.OPENAI_BASE_URL = stub.baseURL;
    // The backend's LLM client takes its provider from the environment: the stub is set before the backend exists.
    gateway = await startRealGateway('execution', { pollIntervalMs: 20 });
    const { backend } = gateway;
    base = gateway.base;
    projectId = (await backend.runs.commands.createProject({ name: 'playground' })).id;
    key = (await backend.access.createApiKey({ projectId, name: 'ci', createdByKeyId: null })).key;
    metricId = (
      await backend.runs.commands.createMetric({ projectId, name: 'exact', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH', outputField: 'output', expectedField: 'city' } })
    ).id;
    const system = await backend.systems.commands.createSystem({ projectId, name: 'geo' });
    versionId = (await backend.systems.commands.createSystemVersion({ systemId: system.id, config: { modelName: 'stub', messages: [{ role: 'user', content: 'Capital of {{ inputs.country }}?' }] } })).id;
    testsetId = (await backend.testsets.commands.createTestset({ projectId, name: 'capitals', fieldMapping: { inputs: ['country'], expected: ['city'] } })).id;
    await backend.testsets.commands.addTestcases(testsetId, [{ jsonData: { country: 'France', city: 'Paris' } }, { jsonData: { country: 'Italy', city: 'Rome' } }]);
    await gateway.settled();
  });

  afterAll(async () => {
    delete process.env.OPENAI_BASE_URL;
    await gateway?.stop();
    await stub?.close();
  });

  const ok = <T = any>(res: GqlResponse<T>): T => {
    expect(res.body.errors).toBeUndefined();
    return res.body.data as T;
  };
  const RUN = 'id status phase source trials numExpectedRecords numExecutionFailures executionFailures { code } testsetId systemVersionId metrics { id version }';

  it('kickoffRun makes a KICKOFF run (AWAITING_EXECUTION until a worker runs it); the same idempotencyKey returns it; runAgain makes another', async () => {
    const kickoff = (idempotencyKey?: string) =>
      gql(base, `mutation ($input: KickoffRunInput!) { kickoffRun(input: $input) { ${RUN} } }`, { input: { projectId, metricIds: [metricId], testsetId, systemVersionId: versionId, trials: 3, idempotencyKey } }, key);
    const { kickoffRun } = ok(await kickoff('k-1'));
    expect(kickoffRun).toMatchObject({ status: 'PENDING', phase: 'AWAITING_EXECUTION', source: 'KICKOFF', trials: 3, numExpectedRecords: 6, numExecutionFailures: 0, executionFailures: [], testsetId, systemVersionId: versionId });
    expect(ok(await kickoff('k-1')).kickoffRun.id).toBe(kickoffRun.id);
    expect(ok(await kickoff('k-2')).kickoffRun.id).not.toBe(kickoffRun.id);

    const { runAgain } = ok(await gql(base, `mutation ($r: ID!) { runAgain(runId: $r) { ${RUN} } }`, { r: kickoffRun.id }, key));
    expect(runAgain).toMatchObject({ source: 'KICKOFF', trials: 3, numExpectedRecords: 6, testsetId, systemVersionId: versionId, metrics: [{ id: metricId, version: 1 }] });
    expect(runAgain.id).not.toBe(kickoffRun.id);
  });

  it('createRun takes source CI (API by default) and refuses KICKOFF; runAgain of it is a CI run again', async () => {
    const create = (source?: string) => gql(base, `mutation ($input: CreateRunInput!) { createRun(input: $input) { ${RUN} } }`, { input: { projectId, metricIds: [metricId], source } }, key);
    expect(ok(await create()).createRun).toMatchObject({ source: 'API', phase: 'AWAITING_EXECUTION', trials: null });
    const ci = ok(await create('CI')).createRun;
    expect(ci).toMatchObject({ source: 'CI' });
    expect((await create('KICKOFF')).body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(ok(await gql(base, `mutation ($r: ID!) { runAgain(runId: $r) { ${RUN} } }`, { r: ci.id }, key)).runAgain).toMatchObject({ source: 'CI' });
  });

  it('the playground streams outputs, then scores, then DONE, over graphql-ws, and makes no run', async () => {
    const runsBefore = ok(await gql(base, 'query ($p: ID!) { runs(projectId: $p, first: 1000) { edges { node { id } } } }', { p: projectId }, key)).runs.edges.length;
    const client = wsClient(base, key);
    try {
      const session = collect(
        client,
        `subscription ($input: PlaygroundInput!) { playground(input: $input) {
           sessionId kind numItems numDone
           item { index testcaseId inputs expected outputs execution { model tokens { prompt completion } cost latencyMs } error { code reason } scores { metricId value passed error { code } } }
           items { index outputs scores { value passed } } } }`,
        { input: { projectId, systemVersionId: versionId, testsetId, metricIds: [metricId] } },
      );
      await waitFor(() => session.completed || session.errors.length > 0, 10_000, 'the session to end');
      expect(session.errors).toEqual([]);
      const updates = session.messages.map((m) => m.data.playground);
      expect(updates[0]).toMatchObject({ kind: 'STARTED', numItems: 2, numDone: 0, item: null });
      expect(updates.filter((u) => u.kind === 'OUTPUT')).toHaveLength(2);
      expect(updates.filter((u) => u.kind === 'SCORES')).toHaveLength(2);
      expect(new Set(updates.map((u) => u.sessionId)).size).toBe(1);
      const output = updates.find((u) => u.kind === 'OUTPUT' && u.item.inputs.country === 'France');
      expect(output.item).toMatchObject({ outputs: { output: 'Paris' }, expected: { city: 'Paris' }, execution: { model: 'stub', cost: 0 }, error: null, scores: [] });
      const done = updates.at(-1);
      expect(done).toMatchObject({ kind: 'DONE', numDone: 2, items: [{ index: 0, outputs: { output: 'Paris' }, scores: [{ value: 1, passed: true }] }, { index: 1, outputs: { output: 'Lyon' }, scores: [{ value: 0, passed: false }] }] });
    } finally {
      await client.dispose();
    }
    const runsAfter = ok(await gql(base, 'query ($p: ID!) { runs(projectId: $p, first: 1000) { edges { node { id } } } }', { p: projectId }, key)).runs.edges.length;
    expect(runsAfter).toBe(runsBefore);
  });

  it('a playground input it cannot run is the subscription error, before anything starts', async () => {
    const client = wsClient(base, key);
    try {
      const session = collect(client, 'subscription ($input: PlaygroundInput!) { playground(input: $input) { kind } }', {
        input: { projectId, config: { modelName: 'stub', messages: [{ role: 'user', content: '{{ nope }}' }] }, testcases: [{ inputs: {} }] },
      });
      await waitFor(() => session.completed || session.errors.length > 0 || session.messages.length > 0, 10_000, 'an answer');
      const message = session.messages[0] ?? { errors: session.errors };
      expect(JSON.stringify(message)).toMatch(/TEMPLATE_INVALID/);
    } finally {
      await client.dispose();
    }
  });
});
