import { gql } from './helpers';
import { useRealGateway } from './real-gateway';

/**
 * Metrics through the real gateway over the real backend on PostgreSQL, with real API keys:
 * definitions, versions, templates, the errors users get, and isolation between projects.
 */
describe('gateway: metrics', () => {
  const g = useRealGateway('metrics');

  const METRIC_FIELDS = 'id projectId name version evalType outputType passingThreshold description guidelines promptTemplate evalModelName temperature heuristic { kind code }';
  const judgePrompt = 'Question: {{ inputs.question }}\nAnswer: {{ outputs.answer }}\nRubric: {{ guidelines }}';

  async function createMetric(key: string, input: Record<string, unknown>) {
    return gql(g.base, `mutation ($input: CreateMetricInput!) { createMetric(input: $input) { ${METRIC_FIELDS} } }`, { input }, key);
  }
  async function updateMetric(key: string, input: Record<string, unknown>) {
    return gql(g.base, `mutation ($input: UpdateMetricInput!) { updateMetric(input: $input) { ${METRIC_FIELDS} } }`, { input }, key);
  }

  it('creates an AI metric, saves versions, and shows the current one with every version', async () => {
    const created = await createMetric(g.keys.a, {
      projectId: g.projects.a,
      name: 'helpfulness',
      evalType: 'AI',
      outputType: 'INT',
      promptTemplate: judgePrompt,
      evalModelName: 'gpt-4o-mini',
      temperature: 0,
      guidelines: '5: answers fully',
      description: 'Is the answer helpful?',
    });
    expect(created.body.errors).toBeUndefined();
    const metric = created.body.data.createMetric;
    expect(metric).toMatchObject({ version: 1, passingThreshold: 4, promptTemplate: judgePrompt, evalModelName: 'gpt-4o-mini', temperature: 0, heuristic: null });

    // Editable at once (authorized against the metric's stream, not the read model).
    const v2 = await updateMetric(g.keys.a, { metricId: metric.id, guidelines: '5: answers fully and briefly', temperature: null });
    expect(v2.body.data.updateMetric).toMatchObject({ version: 2, guidelines: '5: answers fully and briefly', temperature: null, evalModelName: 'gpt-4o-mini' });
    const same = await updateMetric(g.keys.a, { metricId: metric.id, guidelines: '5: answers fully and briefly' });
    expect(same.body.data.updateMetric.version).toBe(2);

    await g.settled();
    const read = await gql(
      g.base,
      `query ($id: ID!, $projectId: ID!) {
        metric(id: $id) { version guidelines createdAt updatedAt versions { metricId version guidelines temperature promptTemplate createdAt } }
        metrics(projectId: $projectId) { id name version }
      }`,
      { id: metric.id, projectId: g.projects.a },
      g.keys.a,
    );
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data.metric).toMatchObject({ version: 2, guidelines: '5: answers fully and briefly' });
    expect(read.body.data.metric.versions).toEqual([
      { metricId: metric.id, version: 1, guidelines: '5: answers fully', temperature: 0, promptTemplate: judgePrompt, createdAt: expect.any(String) },
      { metricId: metric.id, version: 2, guidelines: '5: answers fully and briefly', temperature: null, promptTemplate: judgePrompt, createdAt: expect.any(String) },
    ]);
    expect(read.body.data.metrics).toContainEqual({ id: metric.id, name: 'helpfulness', version: 2 });
  });

  it('creates CODE and HUMAN metrics; a run pins the versions current when it is made', async () => {
    const code = 'function score({ outputs }) { return { score: outputs.answer.length <= 20, reasoning: "length" } }';
    const coded = await createMetric(g.keys.a, { projectId: g.projects.a, name: 'short', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'CODE', code } });
    expect(coded.body.errors).toBeUndefined();
    expect(coded.body.data.createMetric).toMatchObject({ heuristic: { kind: 'CODE', code }, passingThreshold: 1 });
    const human = await createMetric(g.keys.a, { projectId: g.projects.a, name: 'tone', evalType: 'HUMAN', outputType: 'FLOAT', guidelines: 'Friendly?' });
    const ids = [coded.body.data.createMetric.id, human.body.data.createMetric.id];

    const run = await gql(g.base, 'mutation ($input: CreateRunInput!) { createRun(input: $input) { id } }', { input: { projectId: g.projects.a, metricIds: ids } }, g.keys.a);
    await updateMetric(g.keys.a, { metricId: ids[0], heuristic: { kind: 'CODE', code: code.replace('20', '40') } });
    const pinned = await gql(
      g.base,
      'query ($id: ID!) { run(id: $id) { metrics { id version } metricVersions { metricId version name evalType heuristic { kind code } guidelines } } }',
      { id: run.body.data.createRun.id },
      g.keys.a,
    );
    expect(pinned.body.errors).toBeUndefined();
    expect(pinned.body.data.run.metricVersions).toEqual([
      { metricId: ids[0], version: 1, name: 'short', evalType: 'HEURISTIC', heuristic: { kind: 'CODE', code }, guidelines: '' },
      { metricId: ids[1], version: 1, name: 'tone', evalType: 'HUMAN', heuristic: null, guidelines: 'Friendly?' },
    ]);
  });

  it('lists the built-in templates, each a valid AI metric as it is', async () => {
    const res = await gql(g.base, '{ metricTemplates { key name description evalType outputType promptTemplate guidelines passingThreshold } }', undefined, g.keys.b);
    const templates = res.body.data.metricTemplates;
    expect(templates.map((t: { key: string }) => t.key)).toEqual(['correctness', 'faithfulness', 'relevance', 'conciseness', 'pii-leakage', 'toxicity']);
    for (const { key: _key, ...template } of templates) {
      const created = await createMetric(g.keys.b, { projectId: g.projects.b, ...template });
      expect(created.body.errors).toBeUndefined();
    }
  });

  it('refuses bad input with clear codes and details, changing nothing', async () => {
    const metric = (await createMetric(g.keys.a, { projectId: g.projects.a, name: 'judge', evalType: 'AI', outputType: 'FLOAT', promptTemplate: judgePrompt })).body.data.createMetric;
    const errorOf = (res: { body: { errors?: { message: string; extensions?: Record<string, any> }[] } }) => res.body.errors?.[0];

    expect(errorOf(await updateMetric(g.keys.a, { metricId: metric.id, promptTemplate: 'Q: {{ inputs.q }}\n{% if outputs.a %}yes' }))).toMatchObject({
      message: expect.stringContaining('(line 2, column 22)'),
      extensions: { code: 'TEMPLATE_INVALID', details: { field: 'promptTemplate', line: 2, column: 22 } },
    });
    expect(
      errorOf(await createMetric(g.keys.a, { projectId: g.projects.a, name: 'c', evalType: 'HEURISTIC', outputType: 'INT', heuristic: { kind: 'CODE', code: 'function score() {\n  return {\n}' } })),
    ).toMatchObject({ extensions: { code: 'CODE_INVALID', details: { field: 'heuristic.code', line: expect.any(Number), column: expect.any(Number) } } });
    expect(errorOf(await updateMetric(g.keys.a, { metricId: metric.id, passingThreshold: 1.5 }))).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', details: { field: 'passingThreshold', min: 0, max: 1 } },
    });
    expect(errorOf(await createMetric(g.keys.a, { projectId: g.projects.a, name: 'h', evalType: 'HUMAN', outputType: 'INT', heuristic: { kind: 'EXACT_MATCH' } }))).toMatchObject({
      extensions: { code: 'METRIC_CONFIG_INVALID' },
    });
    const versions = await g.backend.runs.commands.updateMetric({ metricId: metric.id });
    expect(versions.version).toBe(1);
  });

  it('a key of another project cannot see or change a metric, and cannot tell it exists', async () => {
    const metric = (await createMetric(g.keys.a, { projectId: g.projects.a, name: 'private', evalType: 'HUMAN', outputType: 'BOOLEAN' })).body.data.createMetric;
    await g.settled();
    const missingId = '00000000-0000-4000-8000-000000000000';
    const asB = (id: string) => updateMetric(g.keys.b, { metricId: id, name: 'stolen' });
    const [foreign, missing] = [await asB(metric.id), await asB(missingId)];
    expect(foreign.body.errors?.[0].extensions?.code).toBe('METRIC_NOT_FOUND');
    expect(JSON.stringify(foreign.body.errors).replaceAll(metric.id, 'ID')).toBe(JSON.stringify(missing.body.errors).replaceAll(missingId, 'ID'));

    const query = 'query ($id: ID!) { metric(id: $id) { id } }';
    expect((await gql(g.base, query, { id: metric.id }, g.keys.b)).body).toEqual({ data: { metric: null } });
    const list = async (projectId: string) => (await gql(g.base, 'query ($p: ID!) { metrics(projectId: $p) { id } }', { p: projectId }, g.keys.b)).body.errors;
    expect(JSON.stringify(await list(g.projects.a)).replaceAll(g.projects.a, 'ID')).toBe(JSON.stringify(await list(missingId)).replaceAll(missingId, 'ID'));

    const run = await gql(g.base, 'mutation ($input: CreateRunInput!) { createRun(input: $input) { id } }', { input: { projectId: g.projects.b, metricIds: [metric.id] } }, g.keys.b);
    expect(run.body.errors?.[0].extensions?.code).toBe('METRIC_NOT_FOUND');
    await g.settled();
    expect((await gql(g.base, query, { id: metric.id }, g.keys.a)).body.data.metric).toEqual({ id: metric.id });
    expect((await g.backend.runs.queries.getMetric(metric.id))?.name).toBe('private');
  });
});
