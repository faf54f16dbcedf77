import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { gql } from './helpers';
import { useRealGateway } from './real-gateway';

/**
 * Testsets, systems and runs bound to them through the real gateway, over the real backend on
 * PostgreSQL (projections running in this process), with real API keys.
 */
describe('gateway: testsets, systems and runs bound to them', () => {
  const g = useRealGateway('catalog');

  async function ok<T = any>(query: string, variables: Record<string, unknown>, key = g.admin): Promise<T> {
    const res = await gql(g.base, query, variables, key);
    if (res.body.errors) throw new Error(`${query}: ${JSON.stringify(res.body.errors)}`);
    return res.body.data;
  }

  const code = async (query: string, variables: Record<string, unknown>, key = g.admin) => (await gql(g.base, query, variables, key)).body.errors?.[0]?.extensions?.code;

  function http(method: string, path: string, options: { body?: string | Buffer; headers?: Record<string, string>; key?: string; chunked?: boolean } = {}) {
    return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? g.admin}`, ...options.headers };
      if (options.body !== undefined && !options.chunked) headers['content-length'] = String(Buffer.byteLength(options.body));
      const req = httpRequest(`${g.base}${path}`, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (options.chunked && options.body !== undefined) {
        const body = Buffer.from(options.body);
        for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
        req.end();
      } else req.end(options.body);
    });
  }

  const TESTSET = 'id projectId name description jsonSchema fieldMapping { inputs expected metadata } schemaRevision numTestcases fields';
  const schema = { type: 'object', required: ['question'], properties: { question: { type: 'string' }, answer: { type: 'string' }, level: { type: 'integer' } } };

  async function newTestset(key = g.admin, projectId = g.projects.a) {
    const { createTestset } = await ok(
      `mutation ($input: CreateTestsetInput!) { createTestset(input: $input) { ${TESTSET} } }`,
      { input: { projectId, name: 'capitals', description: 'geo', jsonSchema: schema, fieldMapping: { inputs: ['question'], expected: ['answer'] } } },
      key,
    );
    return createTestset;
  }

  it('creates, reads, updates and lists testsets; adds testcases with validation errors and pages them', async () => {
    const testset = await newTestset(g.keys.a);
    expect(testset).toMatchObject({ projectId: g.projects.a, name: 'capitals', jsonSchema: schema, fieldMapping: { inputs: ['question'], expected: ['answer'], metadata: [] }, schemaRevision: 1, numTestcases: 0 });
    const { addTestcases } = await ok(
      `mutation ($id: ID!, $items: [TestcaseInput!]!) { addTestcases(testsetId: $id, items: $items) { id jsonData inputs expected metadata validationErrors { path message } } }`,
      { id: testset.id, items: [{ jsonData: { question: 'Capital of France?', answer: 'Paris', source: 'atlas' } }, { jsonData: { answer: 'Lima', level: 'hard' } }] },
      g.keys.a,
    );
    expect(addTestcases[0]).toMatchObject({ inputs: { question: 'Capital of France?' }, expected: { answer: 'Paris' }, metadata: { source: 'atlas' }, validationErrors: [] });
    expect(addTestcases[1].validationErrors).toEqual([
      { path: '/question', message: "must have required property 'question'" },
      { path: '/level', message: 'must be integer' },
    ]);
    const page = await ok(`query ($id: ID!) { testset(id: $id) { numTestcases testcases(first: 1) { edges { node { id } } pageInfo { endCursor hasNextPage } } } }`, { id: testset.id }, g.keys.a);
    expect(page.testset).toMatchObject({ numTestcases: 2, testcases: { edges: [{ node: { id: addTestcases[0].id } }], pageInfo: { hasNextPage: true } } });
    const next = await ok(`query ($id: ID!, $after: String) { testset(id: $id) { testcases(first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage } } } }`, { id: testset.id, after: page.testset.testcases.pageInfo.endCursor }, g.keys.a);
    expect(next.testset.testcases).toEqual({ edges: [{ node: { id: addTestcases[1].id } }], pageInfo: { hasNextPage: false } });

    const { updateTestset } = await ok(`mutation ($id: ID!, $input: UpdateTestsetInput!) { updateTestset(id: $id, input: $input) { ${TESTSET} } }`, {
      id: testset.id,
      input: { jsonSchema: { type: 'object', properties: { question: { type: 'string' } } } },
    }, g.keys.a);
    expect(updateTestset).toMatchObject({ schemaRevision: 2, fieldMapping: { inputs: ['question'], expected: [], metadata: [] } });
    const { testsets } = await ok('query ($p: ID!) { testsets(projectId: $p) { id } }', { p: g.projects.a }, g.keys.a);
    expect(testsets.map((t: { id: string }) => t.id)).toContain(testset.id);

    const invalid = await gql(g.base, `mutation ($input: CreateTestsetInput!) { createTestset(input: $input) { id } }`, { input: { projectId: g.projects.a, name: 'x', jsonSchema: { type: 'nope' } } }, g.keys.a);
    expect(invalid.body.errors?.[0]).toMatchObject({ extensions: { code: 'JSON_SCHEMA_INVALID', details: { errors: expect.arrayContaining([{ path: '/type', message: 'must be equal to one of the allowed values' }]) } } });
    expect(await code(`mutation ($id: ID!) { addTestcases(testsetId: $id, items: [{ jsonData: 5 }]) { id } }`, { id: testset.id }, g.keys.a)).toBe('BAD_USER_INPUT');
    const tooMany = Array.from({ length: 1001 }, () => ({ jsonData: {} }));
    expect(await code(`mutation ($id: ID!, $items: [TestcaseInput!]!) { addTestcases(testsetId: $id, items: $items) { id } }`, { id: testset.id, items: tooMany }, g.keys.a)).toBe('TOO_MANY_TESTCASES');
  });

  it('refuses another project\'s testset exactly as a missing one, over GraphQL and the file endpoints', async () => {
    const testset = await newTestset(g.keys.a);
    const missing = '00000000-0000-4000-8000-000000000000';
    const mask = (text: string, id: string) => text.split(id).join('<id>');
    expect((await ok('query ($id: ID!) { testset(id: $id) { id } }', { id: testset.id }, g.keys.b)).testset).toBeNull();
    for (const query of [
      'mutation ($id: ID!) { addTestcases(testsetId: $id, items: [{ jsonData: {} }]) { id } }',
      'mutation ($id: ID!) { updateTestset(id: $id, input: { name: "mine" }) { id } }',
    ]) {
      const foreign = await gql(g.base, query, { id: testset.id }, g.keys.b);
      const absent = await gql(g.base, query, { id: missing }, g.keys.b);
      expect(foreign.body.errors?.[0]?.extensions?.code).toBe('TESTSET_NOT_FOUND');
      expect(mask(JSON.stringify(foreign.body), testset.id)).toBe(mask(JSON.stringify(absent.body), missing));
    }
    for (const [method, path, body] of [
      ['POST', 'import', 'question\nq\n'],
      ['GET', 'export.csv', undefined],
      ['GET', 'export.jsonl', undefined],
    ] as const) {
      const foreign = await http(method, `/testsets/${testset.id}/${path}`, { key: g.keys.b, body, headers: { 'content-type': 'text/csv' } });
      const absent = await http(method, `/testsets/${missing}/${path}`, { key: g.keys.b, body, headers: { 'content-type': 'text/csv' } });
      expect(foreign.status).toBe(404);
      expect(mask(foreign.text, testset.id)).toBe(mask(absent.text, missing));
    }
    expect((await ok('query ($id: ID!) { testset(id: $id) { numTestcases name } }', { id: testset.id }, g.keys.a)).testset).toEqual({ numTestcases: 0, name: 'capitals' });
  });

  it('imports CSV, TSV, JSON and JSON Lines files and exports CSV and JSONL that round-trip exactly', async () => {
    const testset = await newTestset(g.keys.a);
    const csv = 'question,answer,level\r\n"Capital of ""France"", Europe?",Paris,1\r\n"two\nlines ✓",日本語,2\r\nshort row\r\n"",,\r\n';
    const imported = await http('POST', `/testsets/${testset.id}/import`, { key: g.keys.a, body: csv, headers: { 'content-type': 'text/csv; charset=utf-8' } });
    expect(imported.status).toBe(200);
    expect(JSON.parse(imported.text)).toEqual({
      testsetId: testset.id,
      format: 'csv',
      rowsRead: 4,
      rowsTaken: 3,
      created: 3,
      updated: 0,
      unchanged: 0,
      invalid: 0,
      refusedCount: 1,
      refused: [{ line: 5, code: 'BAD_USER_INPUT', reason: expect.stringContaining('line 5: 1 columns where the header has 3') }],
    });
    const exported = await http('GET', `/testsets/${testset.id}/export.csv`, { key: g.keys.a });
    expect(exported.status).toBe(200);
    expect(exported.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(exported.text.replace(/^[0-9a-f-]{36},/gm, '').replace(/^id,/, '')).toBe(csv.replace('short row\r\n', ''));
    // The export imported again changes nothing.
    const again = await http('POST', `/testsets/${testset.id}/import?format=csv`, { key: g.keys.a, body: exported.text, headers: { 'content-type': 'application/octet-stream' } });
    expect(JSON.parse(again.text)).toMatchObject({ rowsTaken: 3, created: 0, updated: 0, unchanged: 3 });

    const jsonl = '{"question":"a","answer":"b"}\n{"question":"c, \\"d\\"\\ne"}\n';
    const jl = await newTestset(g.keys.a);
    expect(JSON.parse((await http('POST', `/testsets/${jl.id}/import`, { key: g.keys.a, body: jsonl, headers: { 'content-type': 'application/x-ndjson' } })).text)).toMatchObject({ rowsTaken: 2 });
    const jlExport = await http('GET', `/testsets/${jl.id}/export.jsonl`, { key: g.keys.a });
    expect(jlExport.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(jlExport.text.replace(/^\{"id":"[^"]+",/gm, '{')).toBe(jsonl);

    // A JSON array goes past the GraphQL body parser (and its 16 MiB limit) to the streaming import.
    const js = await newTestset(g.keys.a);
    const array = JSON.stringify([{ question: 'x', level: 3 }, { question: 'y', level: 'high' }]);
    expect(JSON.parse((await http('POST', `/testsets/${js.id}/import`, { key: g.keys.a, body: array, headers: { 'content-type': 'application/json' } })).text)).toMatchObject({ rowsTaken: 2, invalid: 1 });
    // Compressed uploads are decompressed as they stream.
    const gz = await newTestset(g.keys.a);
    const gzBody = gzipSync(Buffer.from('question,answer\n' + Array.from({ length: 2500 }, (_, i) => `q${i},a${i}`).join('\n') + '\n'));
    expect(JSON.parse((await http('POST', `/testsets/${gz.id}/import`, { key: g.keys.a, body: gzBody, headers: { 'content-type': 'text/csv', 'content-encoding': 'gzip' } })).text)).toMatchObject({ rowsTaken: 2500 });
    const corrupt = await http('POST', `/testsets/${gz.id}/import`, { key: g.keys.a, body: Buffer.from('not gzip at all'), headers: { 'content-type': 'text/csv', 'content-encoding': 'gzip' } });
    expect([corrupt.status, JSON.parse(corrupt.text).errors[0].extensions.code]).toEqual([400, 'BAD_USER_INPUT']);
    const tsv = await newTestset(g.keys.a);
    expect(JSON.parse((await http('POST', `/testsets/${tsv.id}/import`, { key: g.keys.a, body: 'question\tlevel\nq\t4\n', headers: { 'content-type': 'text/tab-separated-values' } })).text)).toMatchObject({ rowsTaken: 1, invalid: 0 });
    const { testset: typed } = await ok('query ($id: ID!) { testset(id: $id) { testcases { edges { node { jsonData validationErrors { path } } } } } }', { id: tsv.id }, g.keys.a);
    expect(typed.testcases.edges[0].node).toEqual({ jsonData: { question: 'q', level: 4 }, validationErrors: [] });
  });

  it('refuses unsupported formats and oversized files with stable codes; an oversized stream keeps exactly what its summary says', async () => {
    const testset = await newTestset(g.keys.a);
    const unsupported = await http('POST', `/testsets/${testset.id}/import`, { key: g.keys.a, body: 'x', headers: { 'content-type': 'application/pdf' } });
    expect(unsupported.status).toBe(415);
    expect(JSON.parse(unsupported.text).errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const previous = process.env.ASSAY_MAX_IMPORT_BYTES;
    process.env.ASSAY_MAX_IMPORT_BYTES = '40000';
    try {
      const file = 'question\n' + Array.from({ length: 5000 }, (_, i) => `question number ${i}`).join('\n') + '\n';
      const declared = await http('POST', `/testsets/${testset.id}/import`, { key: g.keys.a, body: file, headers: { 'content-type': 'text/csv' } });
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
      expect((await ok('query ($id: ID!) { testset(id: $id) { numTestcases } }', { id: testset.id }, g.keys.a)).testset.numTestcases).toBe(0);
      const streamed = await http('POST', `/testsets/${testset.id}/import`, { key: g.keys.a, body: file, chunked: true, headers: { 'content-type': 'text/csv' } });
      expect(streamed.status).toBe(413);
      const body = JSON.parse(streamed.text);
      expect(body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
      const { testset: after } = await ok('query ($id: ID!) { testset(id: $id) { numTestcases } }', { id: testset.id }, g.keys.a);
      expect(body.summary.rowsTaken).toBe(after.numTestcases);
      expect(after.numTestcases).toBeGreaterThan(0);
    } finally {
      if (previous === undefined) delete process.env.ASSAY_MAX_IMPORT_BYTES;
      else process.env.ASSAY_MAX_IMPORT_BYTES = previous;
    }
  });

  const SYSTEM = 'id projectId name description productionVersionId productionVersion { id name } versions { id name number config }';

  it('creates systems (names unique per project) and immutable, deduplicated versions; sets the production version', async () => {
    const { createSystem } = await ok(`mutation ($input: CreateSystemInput!) { createSystem(input: $input) { ${SYSTEM} } }`, { input: { projectId: g.projects.a, name: 'Support bot', description: 'tickets' } }, g.keys.a);
    expect(createSystem).toMatchObject({ name: 'Support bot', productionVersionId: null, versions: [] });
    expect(await code('mutation ($p: ID!) { createSystem(input: { projectId: $p, name: "support BOT" }) { id } }', { p: g.projects.a }, g.keys.a)).toBe('SYSTEM_NAME_TAKEN');
    const config = { messages: [{ role: 'user', content: 'Answer: {{ inputs.question }}' }], modelName: 'gpt-4o-mini', temperature: 0.2, maxTokens: 100, topP: 1 };
    const create = (cfg: unknown, name?: string) =>
      gql(g.base, 'mutation ($input: CreateSystemVersionInput!) { createSystemVersion(input: $input) { id name number config system { id } } }', { input: { systemId: createSystem.id, name, config: cfg } }, g.keys.a);
    const v1 = (await create(config, 'baseline')).body.data.createSystemVersion;
    expect(v1).toMatchObject({ name: 'baseline', number: 1, config, system: { id: createSystem.id } });
    const same = (await create({ topP: 1, maxTokens: 100, temperature: 0.2, modelName: 'gpt-4o-mini', messages: config.messages })).body.data.createSystemVersion;
    expect(same.id).toBe(v1.id);
    const bad = await create({ messages: [{ role: 'bot', content: 'x' }], modelName: 'm' });
    expect(bad.body.errors?.[0].extensions).toMatchObject({ code: 'SYSTEM_CONFIG_INVALID', details: { errors: [{ path: '/messages/0/role', message: expect.stringContaining('allowed values') }] } });
    const v2 = (await create({ ...config, temperature: 0.9 })).body.data.createSystemVersion;
    const { setProductionVersion } = await ok(`mutation ($s: ID!, $v: ID!) { setProductionVersion(systemId: $s, versionId: $v) { ${SYSTEM} } }`, { s: createSystem.id, v: v2.id }, g.keys.a);
    expect(setProductionVersion).toMatchObject({ productionVersionId: v2.id, productionVersion: { id: v2.id, name: 'v2' }, versions: [{ id: v1.id }, { id: v2.id }] });
    // Project B sees none of it, exactly as for missing ids.
    expect((await ok('query ($id: ID!) { system(id: $id) { id } systemVersion(id: $id) { id } }', { id: createSystem.id }, g.keys.b))).toEqual({ system: null, systemVersion: null });
    expect(await code('mutation ($s: ID!) { createSystemVersion(input: { systemId: $s, config: {} }) { id } }', { s: createSystem.id }, g.keys.b)).toBe('SYSTEM_NOT_FOUND');
    expect(await code('mutation ($s: ID!, $v: ID!) { setProductionVersion(systemId: $s, versionId: $v) { id } }', { s: createSystem.id, v: v1.id }, g.keys.b)).toBe('SYSTEM_NOT_FOUND');
    expect((await ok('query ($p: ID!) { systems(projectId: $p) { id } }', { p: g.projects.a }, g.keys.a)).systems).toHaveLength(1);
  });

  it('createRun binds a testset (numExpectedRecords) and a system version; records carry that testset\'s testcase ids only', async () => {
    const testset = await newTestset(g.keys.a);
    const { addTestcases } = await ok('mutation ($id: ID!) { addTestcases(testsetId: $id, items: [{ jsonData: { question: "a" } }, { jsonData: { question: "b" } }]) { id } }', { id: testset.id }, g.keys.a);
    const { createSystem } = await ok('mutation ($p: ID!) { createSystem(input: { projectId: $p, name: "run bot" }) { id } }', { p: g.projects.a }, g.keys.a);
    const { createSystemVersion } = await ok('mutation ($s: ID!) { createSystemVersion(input: { systemId: $s, config: { endpoint: "https://example.invalid" } }) { id } }', { s: createSystem.id }, g.keys.a);
    const { createMetric } = await ok('mutation ($p: ID!) { createMetric(input: { projectId: $p, name: "exact", evalType: HEURISTIC, outputType: BOOLEAN, heuristic: { kind: EXACT_MATCH } }) { id } }', { p: g.projects.a }, g.keys.a);
    const RUN = 'id testsetId numExpectedRecords systemVersionId testset { id name } systemVersion { id system { name } }';
    const { createRun } = await ok(`mutation ($input: CreateRunInput!) { createRun(input: $input) { ${RUN} } }`, {
      input: { projectId: g.projects.a, metricIds: [createMetric.id], testsetId: testset.id, systemVersionId: createSystemVersion.id, notes: 'bound' },
    }, g.keys.a);
    expect(createRun).toMatchObject({ testsetId: testset.id, numExpectedRecords: 2, systemVersionId: createSystemVersion.id, testset: { id: testset.id, name: 'capitals' }, systemVersion: { id: createSystemVersion.id, system: { name: 'run bot' } } });
    const { addRecords } = await ok('mutation ($r: ID!, $t: ID!) { addRecords(runId: $r, records: [{ testcaseId: $t, outputs: "x" }]) { testcaseId } }', { r: createRun.id, t: addTestcases[0].id }, g.keys.a);
    expect(addRecords).toEqual([{ testcaseId: addTestcases[0].id }]);
    expect(await code('mutation ($r: ID!) { addRecords(runId: $r, records: [{ testcaseId: "nope", outputs: "x" }]) { id } }', { r: createRun.id }, g.keys.a)).toBe('TESTCASE_NOT_FOUND');

    // Another project's testset or system version is refused exactly as a missing one.
    const foreign = await newTestset(g.keys.b, g.projects.b);
    const run = (extra: Record<string, string>) =>
      gql(g.base, 'mutation ($input: CreateRunInput!) { createRun(input: $input) { id } }', { input: { projectId: g.projects.a, metricIds: [createMetric.id], ...extra } }, g.keys.a);
    const foreignRefusal = (await run({ testsetId: foreign.id })).body;
    const missingRefusal = (await run({ testsetId: 'missing-id' })).body;
    expect(foreignRefusal.errors?.[0]?.extensions?.code).toBe('TESTSET_NOT_FOUND');
    expect(JSON.stringify(foreignRefusal).split(foreign.id).join('<id>')).toBe(JSON.stringify(missingRefusal).split('missing-id').join('<id>'));
  });
});
