import { randomUUID } from 'node:crypto';
import { generateApiKey, newApiKeyId } from '@assay/access';
import { API_MODULES, IS_PUBLIC } from '@assay/gateway-service';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Client as PgClient } from 'pg';
import { authHeaders, E2E_ADMIN_KEY, rawGql, wsClient } from '../support/graphql-client';
import { freePort, startServiceStack, waitFor, type ServiceStack } from '../support/service-stack';

/**
 * The isolation matrix, against the real processes: two projects, a key for each, an admin key.
 * Every query, mutation and subscription of the schema (read by introspection) and every file
 * endpoint of the gateway's API modules (read from the controllers' routes) must have entries in
 * MATRIX below, and for each entry:
 *
 *   - project A's key reaches project A's object (so the refusals below are not just "broken");
 *   - project B's key asking for project A's object is refused;
 *   - and that refusal is exactly what project B's key gets for an id that exists nowhere: same
 *     status, same code, same message and details once the id itself is masked.
 *
 * Admin-only operations are refused to both project keys with FORBIDDEN and work with the admin key;
 * operations that show nothing of any project (`anyKey`) work with every key.
 * A new operation without an entry fails the first test, which names it.
 *
 * Adding an entry: describe the call with `own` (the caller's project's objects) and `target`
 * (the objects it must not reach, or missing ids), and say how a refusal looks: 'null' (a
 * nullable lookup answers null) or the error code. Ids inside an input (createRun's metricIds,
 * testsetId…) get a probe each, with `own` for the rest of the input. New kinds of objects go into
 * Fixture, createFixture and missingIds.
 */

interface Fixture {
  readonly projectId: string;
  readonly metricId: string;
  readonly runId: string;
  /** A key of the project that no probe authenticates with: revokeApiKey's target. */
  readonly spareKeyId: string;
  readonly testsetId: string;
  readonly systemId: string;
  readonly systemVersionId: string;
  /** A HUMAN metric the fixture's run pinned, and the run's record (human review). */
  readonly humanMetricId: string;
  readonly recordId: string;
  /** A prompt system version (messages, modelName): what kickoffRun and the playground run. */
  readonly promptVersionId: string;
}

type Call =
  | { readonly kind: 'graphql'; readonly query: string; readonly variables?: Record<string, unknown> }
  | { readonly kind: 'ws'; readonly query: string; readonly variables?: Record<string, unknown> }
  | { readonly kind: 'http'; readonly method: 'GET' | 'POST'; readonly path: string; readonly body?: string; readonly contentType?: string };

interface ScopedProbe {
  /** What this probe checks, for failure messages. */
  readonly what?: string;
  readonly call: (own: Fixture, target: Fixture) => Call;
  /** How the refusal looks: a nullable lookup answering null, or this error code (HTTP: in the body). */
  readonly refused: 'null' | string;
}

interface AdminOnlyProbe {
  readonly adminOnly: true;
  readonly what?: string;
  readonly call: (own: Fixture) => Call;
}

/** An operation that shows nothing of any project (e.g. built-in templates): every valid key may call it. */
interface AnyKeyProbe {
  readonly anyKey: true;
  readonly what?: string;
  readonly call: (own: Fixture) => Call;
}

type Probe = ScopedProbe | AdminOnlyProbe | AnyKeyProbe;

const gql = (query: string, variables?: Record<string, unknown>): Call => ({ kind: 'graphql', query, variables });

/** One key per operation of the schema ("Query.run") and per file endpoint ("GET /runs/:id/export.csv"). */
const MATRIX: Record<string, Probe[]> = {
  'Query.project': [{ call: (_own, t) => gql('query ($id: ID!) { project(id: $id) { id name } }', { id: t.projectId }), refused: 'null' }],
  'Query.metric': [{ call: (_own, t) => gql('query ($id: ID!) { metric(id: $id) { id name } }', { id: t.metricId }), refused: 'null' }],
  'Query.run': [{ call: (_own, t) => gql('query ($id: ID!) { run(id: $id) { id status records { edges { node { id } } } } }', { id: t.runId }), refused: 'null' }],
  'Query.metrics': [{ call: (_own, t) => gql('query ($p: ID!) { metrics(projectId: $p) { id } }', { p: t.projectId }), refused: 'PROJECT_NOT_FOUND' }],
  'Query.metricTemplates': [{ anyKey: true, call: () => gql('{ metricTemplates { name } }') }],
  'Mutation.updateMetric': [
    { call: (_own, t) => gql('mutation ($m: ID!) { updateMetric(input: { metricId: $m, description: "mine now" }) { id version } }', { m: t.metricId }), refused: 'METRIC_NOT_FOUND' },
  ],
  'Query.runs': [{ call: (_own, t) => gql('query ($p: ID!) { runs(projectId: $p) { edges { node { id } } } }', { p: t.projectId }), refused: 'PROJECT_NOT_FOUND' }],
  'Query.apiKeys': [
    { call: (_own, t) => gql('query ($p: ID) { apiKeys(projectId: $p) { id } }', { p: t.projectId }), refused: 'PROJECT_NOT_FOUND' },
    { adminOnly: true, what: 'the admin keys', call: () => gql('{ apiKeys { id } }') },
  ],
  'Mutation.createProject': [{ adminOnly: true, call: () => gql('mutation { createProject(input: { name: "intruder" }) { id } }') }],
  'Mutation.createMetric': [
    {
      call: (_own, t) =>
        gql('mutation ($p: ID!) { createMetric(input: { projectId: $p, name: "m", evalType: HEURISTIC, outputType: BOOLEAN, heuristic: { kind: EXACT_MATCH } }) { id } }', { p: t.projectId }),
      refused: 'PROJECT_NOT_FOUND',
    },
  ],
  'Mutation.createRun': [
    { what: 'in the other project', call: (_own, t) => gql('mutation ($p: ID!, $m: ID!) { createRun(input: { projectId: $p, metricIds: [$m] }) { id } }', { p: t.projectId, m: t.metricId }), refused: 'PROJECT_NOT_FOUND' },
    { what: "with the other project's metric", call: (own, t) => gql('mutation ($p: ID!, $m: ID!) { createRun(input: { projectId: $p, metricIds: [$m] }) { id } }', { p: own.projectId, m: t.metricId }), refused: 'METRIC_NOT_FOUND' },
    {
      what: "with the other project's testset",
      call: (own, t) => gql('mutation ($p: ID!, $m: ID!, $t: ID) { createRun(input: { projectId: $p, metricIds: [$m], testsetId: $t }) { id } }', { p: own.projectId, m: own.metricId, t: t.testsetId }),
      refused: 'TESTSET_NOT_FOUND',
    },
    {
      what: "with the other project's system version",
      call: (own, t) => gql('mutation ($p: ID!, $m: ID!, $v: ID) { createRun(input: { projectId: $p, metricIds: [$m], systemVersionId: $v }) { id } }', { p: own.projectId, m: own.metricId, v: t.systemVersionId }),
      refused: 'SYSTEM_VERSION_NOT_FOUND',
    },
  ],
  'Mutation.addRecords': [
    { call: (_own, t) => gql('mutation ($r: ID!) { addRecords(runId: $r, records: [{ outputs: { answer: "x" } }]) { id } }', { r: t.runId }), refused: 'RUN_NOT_FOUND' },
  ],
  'Mutation.updateRunNotes': [{ call: (_own, t) => gql('mutation ($r: ID!) { updateRunNotes(runId: $r, notes: "mine now") { id } }', { r: t.runId }), refused: 'RUN_NOT_FOUND' }],
  'Mutation.createApiKey': [
    { call: (_own, t) => gql('mutation ($p: ID) { createApiKey(input: { projectId: $p, name: "intruder" }) { id key } }', { p: t.projectId }), refused: 'PROJECT_NOT_FOUND' },
    { adminOnly: true, what: 'an admin key', call: () => gql('mutation { createApiKey(input: { name: "intruder" }) { id key } }') },
  ],
  'Mutation.revokeApiKey': [{ call: (_own, t) => gql('mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }', { id: t.spareKeyId }), refused: 'API_KEY_NOT_FOUND' }],
  'Subscription.runUpdated': [{ call: (_own, t) => ({ kind: 'ws', query: 'subscription ($r: ID!) { runUpdated(runId: $r) { id status } }', variables: { r: t.runId } }), refused: 'RUN_NOT_FOUND' }],
  'GET /runs/:id/export.csv': [{ call: (_own, t) => ({ kind: 'http', method: 'GET', path: `/runs/${t.runId}/export.csv` }), refused: 'RUN_NOT_FOUND' }],

  // Human review.
  'Mutation.submitScore': [
    {
      call: (_own, t) => gql('mutation ($r: ID!, $m: ID!) { submitScore(input: { recordId: $r, metricId: $m, value: 4 }) { value source } }', { r: t.recordId, m: t.humanMetricId }),
      refused: 'RECORD_NOT_FOUND',
    },
    {
      what: "with the other project's metric",
      call: (own, t) => gql('mutation ($r: ID!, $m: ID!) { submitScore(input: { recordId: $r, metricId: $m, value: 4 }) { value source } }', { r: own.recordId, m: t.humanMetricId }),
      refused: 'METRIC_NOT_FOUND',
    },
  ],
  'Query.reviewQueue': [
    { call: (_own, t) => gql('query ($p: ID!, $m: ID!) { reviewQueue(projectId: $p, metricId: $m) { totalCount edges { node { id } } } }', { p: t.projectId, m: t.humanMetricId }), refused: 'PROJECT_NOT_FOUND' },
    {
      what: "with the other project's metric",
      call: (own, t) => gql('query ($p: ID!, $m: ID!) { reviewQueue(projectId: $p, metricId: $m) { totalCount edges { node { id } } } }', { p: own.projectId, m: t.humanMetricId }),
      refused: 'METRIC_NOT_FOUND',
    },
  ],

  // History and comparison of runs.
  'Query.runHistory': [
    { call: (_own, t) => gql('query ($p: ID!, $m: ID!) { runHistory(projectId: $p, metricIds: [$m]) { metricId points { runId } } }', { p: t.projectId, m: t.metricId }), refused: 'PROJECT_NOT_FOUND' },
    { what: "with the other project's metric", call: (own, t) => gql('query ($p: ID!, $m: ID!) { runHistory(projectId: $p, metricIds: [$m]) { metricId points { runId } } }', { p: own.projectId, m: t.metricId }), refused: 'METRIC_NOT_FOUND' },
  ],
  'Query.compareRuns': [
    { what: "the other project's run as base", call: (own, t) => gql('query ($b: ID!, $r: ID!) { compareRuns(baseRunId: $b, runId: $r) { pairedRecords } }', { b: t.runId, r: own.runId }), refused: 'RUN_NOT_FOUND' },
    { what: "the other project's run as current", call: (own, t) => gql('query ($b: ID!, $r: ID!) { compareRuns(baseRunId: $b, runId: $r) { pairedRecords } }', { b: own.runId, r: t.runId }), refused: 'RUN_NOT_FOUND' },
  ],

  // Runs the server executes, and the playground.
  'Mutation.kickoffRun': [
    { what: 'in the other project', call: (_own, t) => kickoff({ p: t.projectId, m: t.metricId, t: t.testsetId, v: t.promptVersionId }), refused: 'PROJECT_NOT_FOUND' },
    { what: "with the other project's system version", call: (own, t) => kickoff({ p: own.projectId, m: own.metricId, t: own.testsetId, v: t.promptVersionId }), refused: 'SYSTEM_VERSION_NOT_FOUND' },
    { what: "with the other project's testset", call: (own, t) => kickoff({ p: own.projectId, m: own.metricId, t: t.testsetId, v: own.promptVersionId }), refused: 'TESTSET_NOT_FOUND' },
    { what: "with the other project's metric", call: (own, t) => kickoff({ p: own.projectId, m: t.metricId, t: own.testsetId, v: own.promptVersionId }), refused: 'METRIC_NOT_FOUND' },
  ],
  'Mutation.runAgain': [{ call: (_own, t) => gql('mutation ($r: ID!) { runAgain(runId: $r) { id source } }', { r: t.runId }), refused: 'RUN_NOT_FOUND' }],
  // Re-scoring: the run, and a metric named in metricIds.
  'Mutation.rescoreRun': [
    { call: (_own, t) => gql('mutation ($r: ID!) { rescoreRun(runId: $r) { id } }', { r: t.runId }), refused: 'RUN_NOT_FOUND' },
    {
      what: "with the other project's metric",
      call: (own, t) => gql('mutation ($r: ID!, $m: [ID!]) { rescoreRun(runId: $r, metricIds: $m) { id } }', { r: own.runId, m: [t.metricId] }),
      refused: 'METRIC_NOT_FOUND',
    },
  ],
  'Subscription.playground': [
    { what: 'in the other project', call: (_own, t) => playground({ p: t.projectId, v: t.promptVersionId, m: [t.metricId] }), refused: 'PROJECT_NOT_FOUND' },
    { what: "with the other project's system version", call: (own, t) => playground({ p: own.projectId, v: t.promptVersionId, m: [own.metricId] }), refused: 'SYSTEM_VERSION_NOT_FOUND' },
    { what: "with the other project's metric", call: (own, t) => playground({ p: own.projectId, v: own.promptVersionId, m: [t.metricId] }), refused: 'METRIC_NOT_FOUND' },
    {
      what: "with the other project's testset",
      call: (own, t) => ({
        kind: 'ws',
        query: 'subscription ($p: ID!, $v: ID, $t: ID) { playground(input: { projectId: $p, systemVersionId: $v, testsetId: $t }) { kind numItems } }',
        variables: { p: own.projectId, v: own.promptVersionId, t: t.testsetId },
      }),
      refused: 'TESTSET_NOT_FOUND',
    },
  ],

  // Testsets and testcases.
  'Query.testset': [{ call: (_own, t) => gql('query ($id: ID!) { testset(id: $id) { id name testcases { edges { node { id } } } } }', { id: t.testsetId }), refused: 'null' }],
  'Query.testsets': [{ call: (_own, t) => gql('query ($p: ID!) { testsets(projectId: $p) { id } }', { p: t.projectId }), refused: 'PROJECT_NOT_FOUND' }],
  'Mutation.createTestset': [{ call: (_own, t) => gql('mutation ($p: ID!) { createTestset(input: { projectId: $p, name: "intruder" }) { id } }', { p: t.projectId }), refused: 'PROJECT_NOT_FOUND' }],
  'Mutation.updateTestset': [{ call: (_own, t) => gql('mutation ($id: ID!) { updateTestset(id: $id, input: { description: "mine now" }) { id } }', { id: t.testsetId }), refused: 'TESTSET_NOT_FOUND' }],
  'Mutation.addTestcases': [{ call: (_own, t) => gql('mutation ($id: ID!) { addTestcases(testsetId: $id, items: [{ jsonData: { q: "planted" } }]) { id } }', { id: t.testsetId }), refused: 'TESTSET_NOT_FOUND' }],
  'POST /testsets/:id/import': [
    { call: (_own, t) => ({ kind: 'http', method: 'POST', path: `/testsets/${t.testsetId}/import`, contentType: 'application/x-ndjson', body: '{"q":"imported"}\n' }), refused: 'TESTSET_NOT_FOUND' },
  ],
  'GET /testsets/:id/export.csv': [{ call: (_own, t) => ({ kind: 'http', method: 'GET', path: `/testsets/${t.testsetId}/export.csv` }), refused: 'TESTSET_NOT_FOUND' }],
  'GET /testsets/:id/export.jsonl': [{ call: (_own, t) => ({ kind: 'http', method: 'GET', path: `/testsets/${t.testsetId}/export.jsonl` }), refused: 'TESTSET_NOT_FOUND' }],

  // Systems and their versions.
  'Query.system': [{ call: (_own, t) => gql('query ($id: ID!) { system(id: $id) { id versions { id } } }', { id: t.systemId }), refused: 'null' }],
  'Query.systems': [{ call: (_own, t) => gql('query ($p: ID!) { systems(projectId: $p) { id } }', { p: t.projectId }), refused: 'PROJECT_NOT_FOUND' }],
  'Query.systemVersion': [{ call: (_own, t) => gql('query ($id: ID!) { systemVersion(id: $id) { id config } }', { id: t.systemVersionId }), refused: 'null' }],
  'Mutation.createSystem': [{ call: (_own, t) => gql('mutation ($p: ID!) { createSystem(input: { projectId: $p, name: "intruder" }) { id } }', { p: t.projectId }), refused: 'PROJECT_NOT_FOUND' }],
  'Mutation.createSystemVersion': [
    { call: (_own, t) => gql('mutation ($s: ID!) { createSystemVersion(input: { systemId: $s, name: "v9", config: { k: 9 } }) { id } }', { s: t.systemId }), refused: 'SYSTEM_NOT_FOUND' },
  ],
  'Mutation.setProductionVersion': [
    { call: (_own, t) => gql('mutation ($s: ID!, $v: ID!) { setProductionVersion(systemId: $s, versionId: $v) { id } }', { s: t.systemId, v: t.systemVersionId }), refused: 'SYSTEM_NOT_FOUND' },
    { what: "with the other project's version", call: (own, t) => gql('mutation ($s: ID!, $v: ID!) { setProductionVersion(systemId: $s, versionId: $v) { id } }', { s: own.systemId, v: t.systemVersionId }), refused: 'SYSTEM_VERSION_NOT_FOUND' },
  ],
};

function kickoff(variables: { p: string; m: string; t: string; v: string }): Call {
  return gql('mutation ($p: ID!, $m: ID!, $t: ID, $v: ID) { kickoffRun(input: { projectId: $p, metricIds: [$m], testsetId: $t, systemVersionId: $v }) { id source } }', variables);
}

function playground(variables: { p: string; v: string; m: string[] }): Call {
  return {
    kind: 'ws',
    query: 'subscription ($p: ID!, $v: ID, $m: [ID!]) { playground(input: { projectId: $p, systemVersionId: $v, metricIds: $m, testcases: [{ inputs: { q: "hi" } }] }) { kind numItems } }',
    variables,
  };
}

const isAdminOnly = (probe: Probe): probe is AdminOnlyProbe => 'adminOnly' in probe;
const isAnyKey = (probe: Probe): probe is AnyKeyProbe => 'anyKey' in probe;

/** What a call answered, in a form two answers can be compared in. */
interface Outcome {
  readonly status: number;
  readonly body: unknown;
}

describe('isolation matrix: a key of one project can neither reach nor detect another project\'s objects', () => {
  let stack: ServiceStack;
  let a: Fixture & { key: string };
  let b: Fixture & { key: string };

  beforeAll(async () => {
    // The owner probes of kickoffRun and the playground call a model: one that refuses at once (nothing listens on port 9).
    stack = await startServiceStack({ env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', ASSAY_LLM_MAX_ATTEMPTS: '1' } });
    a = await createFixture('project A');
    b = await createFixture('project B');
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  async function admin<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await rawGql<T>(stack.httpUrl, query, variables, E2E_ADMIN_KEY);
    if (res.errors?.length) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
    return res.data!;
  }

  async function createFixture(name: string): Promise<Fixture & { key: string }> {
    const { createProject } = await admin('mutation ($n: String!) { createProject(input: { name: $n }) { id } }', { n: name });
    const projectId = createProject.id as string;
    const key = (await admin('mutation ($p: ID) { createApiKey(input: { projectId: $p, name: "ci" }) { key } }', { p: projectId })).createApiKey.key;
    const spareKeyId = (await admin('mutation ($p: ID) { createApiKey(input: { projectId: $p, name: "spare" }) { id } }', { p: projectId })).createApiKey.id;
    const { createMetric } = await admin(
      'mutation ($p: ID!) { createMetric(input: { projectId: $p, name: "exact", evalType: HEURISTIC, outputType: BOOLEAN, heuristic: { kind: EXACT_MATCH } }) { id } }',
      { p: projectId },
    );
    const human = (await admin('mutation ($p: ID!) { createMetric(input: { projectId: $p, name: "tone", evalType: HUMAN, outputType: INT }) { id } }', { p: projectId })).createMetric;
    const { createRun } = await admin('mutation ($p: ID!, $m: [ID!]!) { createRun(input: { projectId: $p, metricIds: $m, notes: "secret" }) { id } }', {
      p: projectId,
      m: [createMetric.id, human.id],
    });
    const { addRecords } = await admin('mutation ($r: ID!) { addRecords(runId: $r, records: [{ outputs: { answer: "a" }, expected: { answer: "a" } }]) { id } }', { r: createRun.id });
    const { createTestset } = await admin('mutation ($p: ID!) { createTestset(input: { projectId: $p, name: "questions" }) { id } }', { p: projectId });
    await admin('mutation ($t: ID!) { addTestcases(testsetId: $t, items: [{ jsonData: { q: "secret question" } }]) { id } }', { t: createTestset.id });
    const { createSystem } = await admin('mutation ($p: ID!) { createSystem(input: { projectId: $p, name: "bot" }) { id } }', { p: projectId });
    const { createSystemVersion } = await admin('mutation ($s: ID!) { createSystemVersion(input: { systemId: $s, name: "v1", config: { k: 1 } }) { id } }', { s: createSystem.id });
    const prompt = await admin('mutation ($s: ID!) { createSystemVersion(input: { systemId: $s, name: "prompt", config: { modelName: "m", messages: [{ role: "user", content: "Hello" }] } }) { id } }', {
      s: createSystem.id,
    });
    return {
      projectId,
      key,
      spareKeyId,
      metricId: createMetric.id,
      runId: createRun.id,
      testsetId: createTestset.id,
      systemId: createSystem.id,
      systemVersionId: createSystemVersion.id,
      promptVersionId: prompt.createSystemVersion.id,
      humanMetricId: human.id,
      recordId: addRecords[0].id,
    };
  }

  /** Ids that exist nowhere, of the same shapes as real ones. */
  const missingIds = (): Fixture => ({
    projectId: randomUUID(),
    metricId: randomUUID(),
    runId: randomUUID(),
    spareKeyId: newApiKeyId(),
    testsetId: randomUUID(),
    systemId: randomUUID(),
    systemVersionId: randomUUID(),
    promptVersionId: randomUUID(),
    humanMetricId: randomUUID(),
    recordId: randomUUID(),
  });

  async function perform(call: Call, key: string | null): Promise<Outcome> {
    switch (call.kind) {
      case 'graphql': {
        const res = await fetch(stack.httpUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...authHeaders(key) },
          body: JSON.stringify({ query: call.query, variables: call.variables ?? {} }),
        });
        return { status: res.status, body: await res.json() };
      }
      case 'http': {
        const res = await fetch(`${stack.baseUrl}${call.path}`, {
          method: call.method,
          headers: { ...authHeaders(key), ...(call.contentType ? { 'content-type': call.contentType } : {}) },
          body: call.body,
        });
        const text = await res.text();
        if (res.ok) return { status: res.status, body: { ok: true } };
        const json = (res.headers.get('content-type') ?? '').startsWith('application/json');
        return { status: res.status, body: json ? JSON.parse(text) : text };
      }
      case 'ws': {
        const client = wsClient(stack.wsUrl, key);
        try {
          return await new Promise<Outcome>((resolve) => {
            const timer = setTimeout(() => resolve({ status: 0, body: 'no answer within 10 s' }), 10_000);
            const done = (outcome: Outcome) => {
              clearTimeout(timer);
              unsubscribe();
              resolve(outcome);
            };
            const unsubscribe = client.subscribe(
              { query: call.query, variables: call.variables ?? {} },
              {
                next: (message) => done({ status: 200, body: message }),
                error: (error: unknown) => {
                  const close = error as { code?: number; reason?: string };
                  done(typeof close?.code === 'number' ? { status: close.code, body: close.reason } : { status: 200, body: { errors: error } });
                },
                complete: () => done({ status: 200, body: 'completed' }),
              },
            );
          });
        } finally {
          await client.dispose();
        }
      }
    }
  }

  /** The outcome with every occurrence of the given ids replaced, so two refusals compare equal. */
  function masked(outcome: Outcome, ids: Fixture): string {
    let text = JSON.stringify(outcome);
    for (const id of Object.values(ids)) text = text.split(id).join('<target id>');
    return text;
  }

  const isRefused = (outcome: Outcome, refused: string) => {
    const body = outcome.body as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
    if (refused === 'null') return !body.errors && body.data !== null && Object.values(body.data ?? { x: 1 }).every((v) => v === null);
    return body.errors?.[0]?.extensions?.code === refused;
  };

  const isAccepted = (outcome: Outcome) => {
    const body = outcome.body as { data?: Record<string, unknown> | null; errors?: unknown; ok?: boolean };
    if (outcome.status !== 200 || body.errors) return false;
    return body.ok === true || (!!body.data && Object.values(body.data).every((v) => v !== null));
  };

  it('has an entry for every operation of the schema and every file endpoint, and none for operations that are gone', async () => {
    const { __schema } = await admin(`{ __schema {
      queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }`);
    const operations = [
      ...__schema.queryType.fields.map((f: { name: string }) => `Query.${f.name}`),
      ...(__schema.mutationType?.fields ?? []).map((f: { name: string }) => `Mutation.${f.name}`),
      ...(__schema.subscriptionType?.fields ?? []).map((f: { name: string }) => `Subscription.${f.name}`),
    ];
    const endpoints = fileEndpoints();
    expect(endpoints).toContain('GET /runs/:id/export.csv');
    const all = [...operations, ...endpoints];
    const missing = all.filter((op) => !MATRIX[op]?.length);
    const stale = Object.keys(MATRIX).filter((op) => !all.includes(op));
    expect({ withoutMatrixEntry: missing, inMatrixButGone: stale }).toEqual({ withoutMatrixEntry: [], inMatrixButGone: [] });
  });

  it('refuses every operation to the other project\'s key exactly as it refuses a missing id', async () => {
    const problems: string[] = [];
    for (const [operation, probes] of Object.entries(MATRIX)) {
      for (const probe of probes) {
        const name = probe.what ? `${operation} (${probe.what})` : operation;
        if (isAnyKey(probe)) {
          for (const [who, key, own] of [['project A', a.key, a], ['project B', b.key, b], ['the admin', E2E_ADMIN_KEY, a]] as const) {
            const outcome = await perform(probe.call(own), key);
            if (!isAccepted(outcome)) problems.push(`${name} with ${who}'s key: expected it to work, got ${JSON.stringify(outcome)}`);
          }
          continue;
        }
        if (isAdminOnly(probe)) {
          for (const [who, key, own] of [['project A', a.key, a], ['project B', b.key, b]] as const) {
            const outcome = await perform(probe.call(own), key);
            const code = (outcome.body as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
            if (code !== 'FORBIDDEN') problems.push(`${name} with ${who}'s key: expected FORBIDDEN, got ${JSON.stringify(outcome)}`);
          }
          const byAdmin = await perform(probe.call(a), E2E_ADMIN_KEY);
          if (!isAccepted(byAdmin)) problems.push(`${name} with the admin key: expected it to work, got ${JSON.stringify(byAdmin)}`);
          continue;
        }
        const missing = missingIds();
        // The intruder first: B's key on A's objects, then on ids that exist nowhere.
        const foreign = await perform(probe.call(b, a), b.key);
        const absent = await perform(probe.call(b, missing), b.key);
        if (!isRefused(foreign, probe.refused)) problems.push(`${name}: B's key on A's object was not refused with ${probe.refused}: ${JSON.stringify(foreign)}`);
        if (!isRefused(absent, probe.refused)) problems.push(`${name}: a missing id was not refused with ${probe.refused}: ${JSON.stringify(absent)}`);
        if (masked(foreign, a) !== masked(absent, missing)) {
          problems.push(`${name}: B's key on A's object is told apart from a missing id:\n  foreign: ${masked(foreign, a)}\n  missing: ${masked(absent, missing)}`);
        }
        // The owner last (it may change things): A's key reaches A's object.
        const owner = await perform(probe.call(a, a), a.key);
        if (!isAccepted(owner)) problems.push(`${name}: A's own key was refused on A's object: ${JSON.stringify(owner)}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it('changes nothing of project A through any refused call', async () => {
    const { run } = await admin('query ($id: ID!) { run(id: $id) { notes numRecords } }', { id: a.runId });
    // Only A's own key wrote to A's run (one record from the owner's addRecords check, its notes update).
    expect(run).toEqual({ notes: 'mine now', numRecords: 2 });
    const { runs } = await admin('query ($p: ID!) { runs(projectId: $p) { edges { node { id } } } }', { p: b.projectId });
    // B made one run of its own (the owner check of createRun ran with A's key, in A).
    expect(runs.edges).toHaveLength(1);
    const { testset } = await admin('query ($id: ID!) { testset(id: $id) { description numTestcases } }', { id: a.testsetId });
    // The fixture's testcase, the owner's addTestcases and the owner's import; the owner's update.
    expect(testset).toEqual({ description: 'mine now', numTestcases: 3 });
  });

  it('refuses every entry without a key, and with a malformed or revoked key, before anything runs', async () => {
    const { createApiKey } = await admin('mutation ($p: ID) { createApiKey(input: { projectId: $p, name: "soon revoked" }) { id key } }', { p: a.projectId });
    await admin('mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', { id: createApiKey.id });
    const problems: string[] = [];
    for (const [operation, probes] of Object.entries(MATRIX)) {
      const probe = probes[0];
      const call = isAdminOnly(probe) || isAnyKey(probe) ? probe.call(a) : probe.call(a, a);
      for (const [what, key] of [['no key', null], ['a malformed key', 'assay_oops'], ['a made-up key', generateApiKey().key], ['a revoked key', createApiKey.key]] as const) {
        const outcome = await perform(call, key);
        const ok =
          call.kind === 'ws'
            ? outcome.status === 4401 && /^UNAUTHENTICATED: /.test(String(outcome.body))
            : outcome.status === 401 && (outcome.body as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code === 'UNAUTHENTICATED';
        if (!ok) problems.push(`${operation} with ${what}: ${JSON.stringify(outcome)}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it('the admin key from ASSAY_INIT_API_KEY reaches both projects; no key is stored in clear, and none is ever listed', async () => {
    const { run } = await admin('query ($id: ID!) { run(id: $id) { id } }', { id: b.runId });
    expect(run.id).toBe(b.runId);
    const { __type } = await admin('{ __type(name: "ApiKey") { fields { name } } }');
    expect(__type.fields.map((f: { name: string }) => f.name).sort()).toEqual(['createdAt', 'id', 'name', 'prefix', 'projectId', 'revokedAt']);
    const listed = await admin('query ($p: ID) { apiKeys(projectId: $p) { id prefix name } }', { p: a.projectId });
    expect(JSON.stringify(listed)).not.toContain(a.key);

    const pg = new PgClient({ connectionString: stack.database.url });
    await pg.connect();
    try {
      const { rows: tables } = await pg.query<{ name: string }>(`select quote_ident(table_name) as name from information_schema.tables where table_schema = 'public'`);
      expect(tables.length).toBeGreaterThan(3);
      for (const key of [a.key, b.key, E2E_ADMIN_KEY]) {
        const secret = key.split('_')[2];
        for (const { name } of tables) {
          const { rows } = await pg.query(`select count(*)::int as n from ${name} t where t::text like $1`, [`%${secret}%`]);
          expect({ table: name, rowsWithTheSecret: rows[0].n }).toEqual({ table: name, rowsWithTheSecret: 0 });
        }
      }
      const { rows } = await pg.query(`select count(*)::int as n from assay_events where type = 'ApiKeyCreated' and data ? 'keyHash'`);
      expect(rows[0].n).toBeGreaterThanOrEqual(5);
    } finally {
      await pg.end();
    }
  });

  it('a key revoked through one gateway replica is refused by another within the 2 s cache bound', async () => {
    const port = await freePort();
    const second = stack.start('gateway', { PORT: String(port) });
    const secondUrl = `http://127.0.0.1:${port}/graphql`;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000, () => second.output.join(''));
    const { createApiKey } = await admin('mutation ($p: ID) { createApiKey(input: { projectId: $p, name: "replicated" }) { id key } }', { p: a.projectId });
    // A key made through one replica works at once on the other (no cache of unknown keys)…
    expect((await rawGql(secondUrl, '{ __typename }', {}, createApiKey.key)).data).toEqual({ __typename: 'Query' });
    // …and the second replica now has it cached. Revoke it through the first one.
    await admin('mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', { id: createApiKey.id });
    const revokedAt = Date.now();
    expect((await rawGql(stack.httpUrl, '{ __typename }', {}, createApiKey.key)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    let refusedAfter = -1;
    while (Date.now() - revokedAt < 5_000) {
      const res = await rawGql(secondUrl, '{ __typename }', {}, createApiKey.key);
      if (res.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED') {
        refusedAfter = Date.now() - revokedAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(refusedAfter).toBeGreaterThanOrEqual(0);
    expect(refusedAfter).toBeLessThanOrEqual(2_500);
  }, 90_000);
});

/** "GET /runs/:id/export.csv" for every non-public route of the API modules' controllers. */
function fileEndpoints(): string[] {
  const routes: string[] = [];
  for (const api of API_MODULES) {
    for (const controller of api.controllers ?? []) {
      if (Reflect.getMetadata(IS_PUBLIC, controller)) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '/').replace(/^\/?/, '/').replace(/\/$/, '');
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (typeof handler !== 'function' || name === 'constructor') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler);
        const method = Reflect.getMetadata(METHOD_METADATA, handler);
        if (path === undefined || method === undefined || Reflect.getMetadata(IS_PUBLIC, handler)) continue;
        const paths: string[] = Array.isArray(path) ? path : [path];
        for (const p of paths) routes.push(`${RequestMethod[method]} ${`${base}/${String(p).replace(/^\//, '')}`.replace(/\/+/g, '/')}`);
      }
    }
  }
  return routes;
}
