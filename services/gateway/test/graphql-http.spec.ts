import { MAX_JSON_DEPTH, MAX_REQUEST_BYTES } from '@assay/contracts';
import { boot, type Booted } from './boot';
import { gql, postRaw } from './helpers';

const RUN_FIELDS = `
  id projectId status numRecords numScores numFailures notes createdAt updatedAt lastEventAt streamVersion
  metrics { id name version evalType outputType passingThreshold }
  aggregates { metricId count passRate mean passed failed }
`;

describe('gateway GraphQL over HTTP', () => {
  let g: Booted;

  beforeAll(async () => {
    g = await boot();
  });
  afterAll(async () => {
    await g.app.close();
  });

  async function setup(): Promise<{ projectId: string; metricId: string; runId: string }> {
    const project = await gql(g.base, `mutation($input: CreateProjectInput!) { createProject(input: $input) { id name createdAt } }`, {
      input: { name: 'support-bot' },
    });
    expect(project.body.errors).toBeUndefined();
    const projectId = project.body.data.createProject.id;
    expect(project.body.data.createProject).toEqual({ id: projectId, name: 'support-bot', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) });

    const metric = await gql(
      g.base,
      `mutation($input: CreateMetricInput!) { createMetric(input: $input) {
         id projectId name version evalType outputType passingThreshold heuristic { kind outputField expectedField params } } }`,
      {
        input: {
          projectId,
          name: 'exact answer',
          evalType: 'HEURISTIC',
          outputType: 'BOOLEAN',
          heuristic: { kind: 'REGEX', outputField: 'answer', expectedField: null, params: { pattern: '^4[0-9]$', flags: 'i', nested: [1, { a: null }] } },
        },
      },
    );
    expect(metric.body.errors).toBeUndefined();
    const metricId = metric.body.data.createMetric.id;
    expect(metric.body.data.createMetric).toEqual({
      id: metricId,
      projectId,
      name: 'exact answer',
      version: 1,
      evalType: 'HEURISTIC',
      outputType: 'BOOLEAN',
      passingThreshold: 1,
      heuristic: { kind: 'REGEX', outputField: 'answer', expectedField: null, params: { pattern: '^4[0-9]$', flags: 'i', nested: [1, { a: null }] } },
    });

    const run = await gql(g.base, `mutation($input: CreateRunInput!) { createRun(input: $input) { ${RUN_FIELDS} } }`, {
      input: { projectId, metricIds: [metricId], notes: 'first try' },
    });
    expect(run.body.errors).toBeUndefined();
    expect(run.body.data.createRun).toMatchObject({
      projectId,
      status: 'PENDING',
      numRecords: 0,
      notes: 'first try',
      metrics: [{ id: metricId, name: 'exact answer', version: 1, evalType: 'HEURISTIC', outputType: 'BOOLEAN', passingThreshold: 1 }],
      aggregates: [{ metricId, count: 0, passRate: null, mean: null, passed: 0, failed: 0 }],
    });
    return { projectId, metricId, runId: run.body.data.createRun.id };
  }

  it('creates a project, a metric and a run, adds records and pages through them', async () => {
    const { projectId, metricId, runId } = await setup();
    const records = Array.from({ length: 5 }, (_, i) => ({
      testcaseId: `tc-${i}`,
      inputs: { question: `what is ${i} × 2? "quoted", commas\nand lines ✓` },
      outputs: i % 2 ? { answer: String(i * 2) } : 'plain string output',
      expected: i === 4 ? null : [i * 2, true, { deep: { deeper: [null] } }],
    }));
    const added = await gql(
      g.base,
      `mutation($runId: ID!, $records: [RecordInput!]!) { addRecords(runId: $runId, records: $records) { id testcaseId inputs outputs expected createdAt scores { metricId } } }`,
      { runId, records },
    );
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data.addRecords).toHaveLength(5);
    expect(added.body.data.addRecords.map((r: any) => ({ testcaseId: r.testcaseId, inputs: r.inputs, outputs: r.outputs, expected: r.expected }))).toEqual(records);

    g.runs.score(runId, added.body.data.addRecords[0].id, { metricId, value: 1, passed: true, reasoning: 'ok', error: null });

    const page = `query($id: ID!, $first: Int, $after: String) { run(id: $id) { ${RUN_FIELDS}
      records(first: $first, after: $after) {
        edges { cursor node { id testcaseId inputs outputs expected createdAt scores { metricId metricVersion value passed reasoning error { code reason } } } }
        pageInfo { endCursor hasNextPage } } } }`;
    const first = await gql(g.base, page, { id: runId, first: 2 });
    expect(first.body.errors).toBeUndefined();
    const run = first.body.data.run;
    expect(run).toMatchObject({ id: runId, status: 'SCORING', numRecords: 5, numScores: 1, numFailures: 0 });
    expect(run.aggregates).toEqual([{ metricId, count: 1, passRate: 1, mean: 1, passed: 1, failed: 0 }]);
    expect(run.records.edges.map((e: any) => e.node.testcaseId)).toEqual(['tc-0', 'tc-1']);
    expect(run.records.edges[0].node.scores).toEqual([{ metricId, metricVersion: 1, value: 1, passed: true, reasoning: 'ok', error: null }]);
    expect(run.records.pageInfo).toEqual({ endCursor: run.records.edges[1].cursor, hasNextPage: true });

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await gql(g.base, page, { id: runId, first: 2, after });
      expect(res.body.errors).toBeUndefined();
      const conn = res.body.data.run.records;
      seen.push(...conn.edges.map((e: any) => e.node.testcaseId));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual(['tc-0', 'tc-1', 'tc-2', 'tc-3', 'tc-4']);

    const bad = await gql(g.base, page, { id: runId, first: 2, after: 'not-a-cursor' });
    expect(bad.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const notes = await gql(g.base, `mutation { updateRunNotes(runId: "${runId}", notes: "second thoughts") { notes streamVersion } }`);
    expect(notes.body.data.updateRunNotes.notes).toBe('second thoughts');

    const other = await gql(g.base, `mutation { createRun(input: {projectId: "${projectId}", metricIds: ["${metricId}"]}) { id notes } }`);
    expect(other.body.data.createRun.notes).toBe('');
    const list = await gql(g.base, `{ runs(projectId: "${projectId}", first: 1) { edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }`);
    expect(list.body.data.runs.edges.map((e: any) => e.node.id)).toEqual([other.body.data.createRun.id]);
    expect(list.body.data.runs.pageInfo.hasNextPage).toBe(true);
    const next = await gql(g.base, `{ runs(projectId: "${projectId}", first: 1, after: "${list.body.data.runs.pageInfo.endCursor}") { edges { node { id } } pageInfo { hasNextPage } } }`);
    expect(next.body.data.runs).toEqual({ edges: [{ node: { id: runId } }], pageInfo: { hasNextPage: false } });

    const lookups = await gql(g.base, `{ project(id: "${projectId}") { id name } metric(id: "${metricId}") { id name } run(id: "nope") { id } }`);
    expect(lookups.body).toEqual({ data: { project: { id: projectId, name: 'support-bot' }, metric: { id: metricId, name: 'exact answer' }, run: null } });
  });

  it('rejects 1,001 records with TOO_MANY_RECORDS and adds nothing', async () => {
    const { runId } = await setup();
    const records = Array.from({ length: 1001 }, (_, i) => ({ testcaseId: `tc-${i}`, inputs: { i } }));
    const res = await gql(g.base, `mutation($runId: ID!, $records: [RecordInput!]!) { addRecords(runId: $runId, records: $records) { id } }`, { runId, records });
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0].extensions).toEqual({ code: 'TOO_MANY_RECORDS', details: { max: 1000, received: 1001 } });
    expect(res.body.errors![0].message).toMatch(/at most 1000 records.*batches/);
    const run = await gql(g.base, `{ run(id: "${runId}") { numRecords records { edges { cursor } } } }`);
    expect(run.body.data.run).toEqual({ numRecords: 0, records: { edges: [] } });

    const ok = await gql(g.base, `mutation($runId: ID!, $records: [RecordInput!]!) { addRecords(runId: $runId, records: $records) { id } }`, {
      runId,
      records: records.slice(0, 1000),
    });
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.addRecords).toHaveLength(1000);
  });

  it('reports RUN_NOT_FOUND for mutations on an unknown run', async () => {
    const errorLines = () => g.logger.lines.filter((l) => l.level === 'error').length;
    const errorsBefore = errorLines();
    const res = await gql(g.base, `mutation { addRecords(runId: "run_missing", records: [{inputs: {a: 1}}]) { id } }`);
    expect(res.status).toBe(200);
    expect(res.body.errors?.[0]).toMatchObject({ extensions: { code: 'RUN_NOT_FOUND' }, path: ['addRecords'] });
    expect(res.body.errors?.[0].message).toContain('run_missing');
    const notes = await gql(g.base, `mutation { updateRunNotes(runId: "run_missing", notes: "x") { id } }`);
    expect(notes.body.errors?.[0].extensions?.code).toBe('RUN_NOT_FOUND');
    // User errors are logged once, at info, by the gateway (not at error level by Nest).
    expect(errorLines()).toBe(errorsBefore);
    const line = [...g.logger.lines].reverse().find((l) => l.msg === 'graphql operation rejected');
    expect(line?.level).toBe('info');
    expect((line?.obj as any).errors).toEqual([{ code: 'RUN_NOT_FOUND', message: expect.any(String), path: 'updateRunNotes' }]);
  });

  it('answers an over-large body with 413 PAYLOAD_TOO_LARGE in GraphQL shape', async () => {
    const body = JSON.stringify({ query: '{ __typename }', variables: { blob: 'x'.repeat(MAX_REQUEST_BYTES + 1) } });
    const res = await postRaw(`${g.base}/graphql`, body);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const parsed = JSON.parse(res.text);
    expect(parsed).toEqual({ errors: [{ message: expect.stringContaining('limit'), extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    expect(g.logger.lines.some((l) => (l.obj as any).code === 'PAYLOAD_TOO_LARGE')).toBe(true);
  });

  it('accepts a body well above Nest’s default 100 kB limit', async () => {
    const { runId } = await setup();
    const blob = 'y'.repeat(2 * 1024 * 1024);
    const res = await gql(g.base, `mutation($runId: ID!, $blob: JSON) { addRecords(runId: $runId, records: [{inputs: $blob}]) { id } }`, { runId, blob });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(g.runs.records.get(runId)![0].inputs).toBe(blob);
  });

  it('answers a malformed JSON body with INVALID_JSON in GraphQL shape', async () => {
    const res = await postRaw(`${g.base}/graphql`, '{"query": "{ __typename }", ');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ errors: [{ message: expect.stringContaining('not valid JSON'), extensions: { code: 'INVALID_JSON' } }] });
  });

  it('rejects a JSON literal that is not JSON with INVALID_JSON, and keeps standard codes for other GraphQL errors', async () => {
    const { runId } = await setup();
    const enumLiteral = await gql(g.base, `mutation { addRecords(runId: "${runId}", records: [{inputs: {a: NOT_JSON}}]) { id } }`);
    expect(enumLiteral.body.errors?.[0].extensions?.code).toBe('INVALID_JSON');
    expect(enumLiteral.body.errors?.[0].message).toContain('NOT_JSON');

    const hugeNumber = await gql(g.base, `mutation { addRecords(runId: "${runId}", records: [{inputs: 1e400}]) { id } }`);
    expect(hugeNumber.body.errors?.[0].extensions?.code).toBe('INVALID_JSON');

    const literal = await gql(
      g.base,
      `mutation($v: JSON) { addRecords(runId: "${runId}", records: [{inputs: {list: [1, 2.5, "s", true, null, {x: $v}]}, outputs: "{\\"not\\": \\"parsed\\"}"}]) { inputs outputs } }`,
      { v: { from: 'variable' } },
    );
    expect(literal.body.errors).toBeUndefined();
    expect(literal.body.data.addRecords[0]).toEqual({ inputs: { list: [1, 2.5, 's', true, null, { x: { from: 'variable' } }] }, outputs: '{"not": "parsed"}' });

    const validation = await gql(g.base, `{ run(id: "x") { nope } }`);
    expect(validation.status).toBe(400);
    expect(validation.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const parse = await gql(g.base, `{ run(id: `);
    expect(parse.body.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');

    const coercion = await gql(g.base, `query($id: ID!) { run(id: $id) { id } }`, {});
    expect(coercion.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const badEnum = await gql(g.base, `mutation($input: CreateMetricInput!) { createMetric(input: $input) { id } }`, {
      input: { projectId: 'p', name: 'm', evalType: 'MAGIC', outputType: 'BOOLEAN' },
    });
    expect(badEnum.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('points at a bad JSON literal: its line and column, and the argument it is in', async () => {
    const { projectId, runId } = await setup();
    const query = `mutation {
  addRecords(runId: "${runId}", records: [{inputs: {}}, {outputs: {answer: [1, FOO]}}]) { id }
}`;
    const res = await gql(g.base, query);
    expect(res.body.errors).toEqual([
      {
        message: 'Argument "records" of addRecords got an invalid value at "records[1].outputs"; JSON value at $.answer[1] is the bare word FOO: quote it to pass a string ("FOO").',
        locations: [{ line: 2, column: query.split('\n')[1].indexOf('FOO') + 1 }],
        extensions: { code: 'INVALID_JSON' },
      },
    ]);

    // Deeper in an input object, in a variable's default value, or the whole argument.
    const metric = await gql(
      g.base,
      `mutation { createMetric(input: {projectId: "${projectId}", name: "m", evalType: HEURISTIC, outputType: BOOLEAN, heuristic: {kind: REGEX, params: {pattern: 1e400}}}) { id } }`,
    );
    expect(metric.body.errors?.[0]).toMatchObject({
      message: 'Argument "input" of createMetric got an invalid value at "input.heuristic.params"; JSON value at $.pattern is not a finite number: 1e400.',
      locations: [{ line: 1, column: expect.any(Number) }],
      extensions: { code: 'INVALID_JSON' },
    });
    const withDefault = await gql(g.base, `mutation($o: JSON = [NOPE]) { addRecords(runId: "${runId}", records: [{outputs: $o}]) { id } }`);
    expect(withDefault.body.errors?.[0]).toMatchObject({
      message: 'Variable "$o" got an invalid default value; JSON value at $[0] is the bare word NOPE: quote it to pass a string ("NOPE").',
      locations: [{ line: 1, column: 'mutation($o: JSON = ['.length + 1 }],
    });
    const whole = await gql(g.base, `mutation { addRecords(runId: "${runId}", records: {outputs: YES}) { id } }`);
    expect(whole.body.errors?.[0].message).toBe('Argument "records" of addRecords got an invalid value at "records.outputs"; JSON value at $ is the bare word YES: quote it to pass a string ("YES").');
  });

  it('refuses JSON nested deeper than MAX_JSON_DEPTH with INVALID_JSON, from variables and literals, and a query text too deep to parse with GRAPHQL_PARSE_FAILED', async () => {
    const { runId } = await setup();
    const nested = (levels: number) => '['.repeat(levels) + '1' + ']'.repeat(levels);
    const ADD = `mutation($runId: ID!, $records: [RecordInput!]!) { addRecords(runId: $runId, records: $records) { id } }`;

    const ok = await gql(g.base, ADD, { runId, records: [{ outputs: JSON.parse(nested(MAX_JSON_DEPTH)) }] });
    expect(ok.body.errors).toBeUndefined();

    for (const levels of [MAX_JSON_DEPTH + 1, 5_000, 100_000]) {
      // Written by hand: JSON.stringify, unlike JSON.parse, recurses.
      const body = `{"query": ${JSON.stringify(ADD)}, "variables": {"runId": "${runId}", "records": [{"inputs": {}}, {"outputs": ${nested(levels)}}]}}`;
      const res = JSON.parse((await postRaw(`${g.base}/graphql`, body)).text);
      expect(res.errors).toHaveLength(1);
      expect(res.errors[0].extensions).toEqual({ code: 'INVALID_JSON' });
      expect(res.errors[0].message).toMatch(/"records\[1\]\.outputs".*JSON value at \$(\[0\]){100} nests objects and arrays more than 100 levels deep, the limit/);
    }

    const literal = await gql(g.base, `mutation { addRecords(runId: "${runId}", records: [{outputs: ${nested(1_000)}}]) { id } }`);
    expect(literal.body.errors?.[0].extensions).toEqual({ code: 'INVALID_JSON' });
    expect(literal.body.errors?.[0].message).toMatch(/more than 100 levels deep/);

    // A variable inside a literal is checked on its own, like any variable.
    const inside = await gql(g.base, `mutation($v: JSON) { addRecords(runId: "${runId}", records: [{outputs: {a: [$v]}}]) { id } }`, { v: JSON.parse(nested(MAX_JSON_DEPTH)) });
    expect(inside.body.errors).toBeUndefined();

    // graphql-js's parser itself gives up at a few thousand levels.
    const unparsable = await gql(g.base, `mutation { addRecords(runId: "${runId}", records: [{outputs: ${nested(100_000)}}]) { id } }`);
    expect(unparsable.status).toBe(400);
    expect(unparsable.body.errors).toEqual([{ message: expect.stringMatching(/nested too deeply to parse.*at most 100 levels/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } }]);
    expect(g.runs.records.get(runId)).toHaveLength(2);
  });

  it('hides internal errors behind INTERNAL and logs them', async () => {
    const res = await gql(g.base, `query Leaky { project(id: "boom") { id } }`);
    expect(res.status).toBe(200);
    const error = res.body.errors?.[0];
    expect(error?.extensions).toEqual({ code: 'INTERNAL', errorId: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/hunter2|10\.0\.0\.7|stack/);
    const line = g.logger.lines.find((l) => l.level === 'error' && (l.obj as any).operationName === 'Leaky');
    expect(line).toBeDefined();
    expect(JSON.stringify(line!.obj)).toContain('hunter2'); // the operator sees the cause…
    expect(JSON.stringify(line!.obj)).toContain(error!.extensions!.errorId); // …under the id the user reports
  });

  it('does not log successful operations at info', async () => {
    const before = g.logger.lines.filter((l) => l.level !== 'debug').length;
    await gql(g.base, `{ __typename }`);
    expect(g.logger.lines.filter((l) => l.level !== 'debug').length).toBe(before);
  });

  it('serves /healthz and /readyz', async () => {
    const health = await fetch(`${g.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    expect((await fetch(`${g.base}/readyz`)).status).toBe(200);
    g.setReady(false);
    const down = await fetch(`${g.base}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unavailable' });
    g.setReady(new Error('db down'));
    expect((await fetch(`${g.base}/readyz`)).status).toBe(503);
    g.setReady(true);
  });
});
