import { gql } from './helpers';
import { useRealGateway } from './real-gateway';

/**
 * Issue 4 through the real gateway over the real backend: Score's judge fields, Run.cost and
 * rescoreRun (a run of another project answers as a missing one).
 */
describe('gateway: judge fields, cost and rescoreRun', () => {
  const g = useRealGateway('scoring');

  it('shows judge model, tokens, cost and cache per score, the run cost, and re-scores with the latest version', async () => {
    const commands = g.backend.runs.commands;
    const judge = await commands.createMetric({ projectId: g.projects.a, name: 'helpful', evalType: 'AI', outputType: 'BOOLEAN', promptTemplate: 'Is {{ outputs }} helpful?' });
    const exact = await commands.createMetric({ projectId: g.projects.a, name: 'exact', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH' } });
    const run = await commands.createRun({ projectId: g.projects.a, metricIds: [judge.id, exact.id] });
    const [record] = await commands.addRecords(run.id, [{ outputs: 'yes', expected: 'yes' }]);
    const [judgeSnapshot, exactSnapshot] = await commands.metricsOfRun(run.id);
    await commands.recordOutcomes([
      { kind: 'score', runId: run.id, recordId: record.id, metric: judgeSnapshot, value: 1, reasoning: 'helpful', judge: { model: 'gpt-4o-mini-2024-07-18', tokens: { prompt: 90, completion: 12 }, cost: 0.0000207, cached: false } },
      { kind: 'score', runId: run.id, recordId: record.id, metric: exactSnapshot, value: 1, reasoning: 'same' },
    ]);
    await g.settled();

    const RUN = `id status metrics { id version } cost { systemTokens systemCost judgeTokens judgeCost total perMetric { metricId tokens cost } }
      records { edges { node { scores { metricId metricVersion round value judgeModel tokens promptTokens completionTokens cost cached } } } }`;
    const read = await gql(g.base, `query ($id: ID!) { run(id: $id) { ${RUN} } }`, { id: run.id }, g.keys.a);
    expect(read.body.errors).toBeUndefined();
    const view = read.body.data.run;
    expect(view.status).toBe('COMPLETED');
    expect(view.cost).toEqual({
      systemTokens: 0,
      systemCost: 0,
      judgeTokens: 102,
      judgeCost: 0.0000207,
      total: 0.0000207,
      perMetric: [
        { metricId: judge.id, tokens: 102, cost: 0.0000207 },
        { metricId: exact.id, tokens: 0, cost: 0 },
      ],
    });
    expect(view.records.edges[0].node.scores).toEqual([
      { metricId: judge.id, metricVersion: 1, round: 0, value: 1, judgeModel: 'gpt-4o-mini-2024-07-18', tokens: 102, promptTokens: 90, completionTokens: 12, cost: 0.0000207, cached: false },
      { metricId: exact.id, metricVersion: 1, round: 0, value: 1, judgeModel: null, tokens: null, promptTokens: null, completionTokens: null, cost: null, cached: null },
    ].sort((x, y) => (x.metricId < y.metricId ? -1 : 1)));

    // Another project's key: the run is missing, and nothing is appended.
    const foreign = await gql(g.base, 'mutation ($id: ID!) { rescoreRun(runId: $id) { id } }', { id: run.id }, g.keys.b);
    expect(foreign.body.errors?.[0].extensions?.code).toBe('RUN_NOT_FOUND');
    expect(await g.backend.runs.commands.rescoreVersions([run.id])).toEqual(new Map([[run.id, 0]]));

    await commands.updateMetric({ metricId: judge.id, guidelines: 'Only direct answers help.' });
    const rescored = await gql(
      g.base,
      'mutation ($id: ID!, $m: [ID!]) { rescoreRun(runId: $id, metricIds: $m, bypassCache: true) { id status numScores metrics { id version } } }',
      { id: run.id, m: [judge.id] },
      g.keys.a,
    );
    expect(rescored.body.errors).toBeUndefined();
    expect(rescored.body.data.rescoreRun).toEqual({ id: run.id, status: 'SCORING', numScores: 1, metrics: [{ id: judge.id, version: 2 }, { id: exact.id, version: 1 }] });

    const missing = await gql(g.base, 'mutation { rescoreRun(runId: "no-such-run") { id } }', {}, g.keys.a);
    expect(missing.body.errors?.[0].extensions?.code).toBe('RUN_NOT_FOUND');
  });
});
