import type { MetricSnapshot } from '@assay/contracts';
import type { RecordView } from '@assay/runs';
import { createGatewayApp } from '../src';
import { MemoryLogger } from './fakes';
import { gql } from './helpers';
import { useRealGateway } from './real-gateway';

/**
 * runHistory and compareRuns through the real gateway, over the real backend on PostgreSQL
 * (projections running in this process), with real API keys: what a project key may see, and
 * that another project's run or metric answers exactly as a missing one.
 */
describe('gateway: run history and comparison', () => {
  const g = useRealGateway('history');
  const metrics: Record<'a' | 'b', { exact: string; similar: string }> = { a: { exact: '', similar: '' }, b: { exact: '', similar: '' } };
  const runs: Record<'a' | 'b', { base: string; current: string }> = { a: { base: '', current: '' }, b: { base: '', current: '' } };
  const missing = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    const { commands } = g.backend.runs;
    for (const p of ['a', 'b'] as const) {
      metrics[p].exact = (
        await commands.createMetric({ projectId: g.projects[p], name: 'exact', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH' } })
      ).id;
      metrics[p].similar = (
        await commands.createMetric({ projectId: g.projects[p], name: 'similar', evalType: 'HEURISTIC', outputType: 'FLOAT', heuristic: { kind: 'LEVENSHTEIN' }, passingThreshold: 0.5 })
      ).id;
      // Two runs over q1…q4: exact flips q2 (pass → fail) and q3 (fail → pass); similar drops on q4.
      const scores = {
        base: { exact: [1, 1, 0, 1], similar: [0.9, 0.8, 0.4, 0.7] },
        current: { exact: [1, 0, 1, 1], similar: [0.95, 0.8, 0.6, 0.3] },
      };
      for (const which of ['base', 'current'] as const) {
        const run = await commands.createRun({ projectId: g.projects[p], metricIds: [metrics[p].exact, metrics[p].similar] });
        runs[p][which] = run.id;
        const [exact, similar] = await commands.metricsOfRun(run.id);
        const records = await commands.addRecords(run.id, ['q1', 'q2', 'q3', 'q4'].map((testcaseId) => ({ testcaseId })));
        const score = (record: RecordView, metric: MetricSnapshot, value: number) => ({ kind: 'score', runId: run.id, recordId: record.id, metric, value, reasoning: '' }) as const;
        await commands.recordOutcomes(records.flatMap((r, i) => [score(r, exact, scores[which].exact[i]), score(r, similar, scores[which].similar[i])]));
      }
    }
    await g.settled();
  });

  async function ok<T = any>(query: string, variables: Record<string, unknown>, key = g.admin): Promise<T> {
    const res = await gql(g.base, query, variables, key);
    if (res.body.errors) throw new Error(`${query}: ${JSON.stringify(res.body.errors)}`);
    return res.body.data;
  }

  /** The answer with the id masked: a foreign id must answer exactly as a missing one. */
  async function masked(query: string, variables: Record<string, unknown>, id: string, key: string) {
    const res = await gql(g.base, query, variables, key);
    return { status: res.status, body: JSON.stringify(res.body).split(id).join('<id>') };
  }

  const HISTORY = `query ($p: ID!, $m: [ID!]!, $from: DateTime, $to: DateTime) {
    runHistory(projectId: $p, metricIds: $m, from: $from, to: $to) { metricId metricName points { runId runCreatedAt metricVersion count passed failed passRate mean } }
  }`;

  const COMPARE = `query ($b: ID!, $r: ID!, $first: Int) {
    compareRuns(baseRunId: $b, runId: $r) {
      baseRun { id status } run { id status aggregates { metricId passRate } }
      pairedRecords unpairedRecords unpairedBaseRecords unpairedCurrentRecords
      metrics {
        metricId metricName outputType baseVersion version
        base { count passRate mean } current { count passRate mean } delta { passRate mean }
        significance { method pairs delta pValue ciLow ciHigh statistic resamples discordantBaseOnly discordantCurrentOnly }
        numRegressed numImproved
        regressed(first: $first) { testcaseId trial baseValue value basePassed passed }
        improved { testcaseId trial baseValue value basePassed passed }
      }
    }
  }`;

  it('runHistory: a series per metric over the project runs, oldest first', async () => {
    const { runHistory } = await ok(HISTORY, { p: g.projects.a, m: [metrics.a.similar, metrics.a.exact] }, g.keys.a);
    expect(runHistory.map((s: any) => [s.metricId, s.metricName, s.points.map((p: any) => p.runId)])).toEqual([
      [metrics.a.similar, 'similar', [runs.a.base, runs.a.current]],
      [metrics.a.exact, 'exact', [runs.a.base, runs.a.current]],
    ]);
    expect(runHistory[1].points[0]).toEqual({
      runId: runs.a.base,
      runCreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      metricVersion: 1,
      count: 4,
      passed: 3,
      failed: 0,
      passRate: 0.75,
      mean: 0.75,
    });
    const later = await ok(HISTORY, { p: g.projects.a, m: [metrics.a.exact], from: runHistory[1].points[1].runCreatedAt }, g.keys.a);
    expect(later.runHistory[0].points.map((p: any) => p.runId)).toEqual([runs.a.current]);
  });

  it("runHistory: another project's project or metric answers exactly as a missing one", async () => {
    const foreignProject = await masked(HISTORY, { p: g.projects.a, m: [metrics.a.exact] }, g.projects.a, g.keys.b);
    expect(foreignProject.body).toContain('PROJECT_NOT_FOUND');
    expect(foreignProject).toEqual(await masked(HISTORY, { p: missing, m: [metrics.a.exact] }, missing, g.keys.b));

    const foreignMetric = await masked(HISTORY, { p: g.projects.b, m: [metrics.a.exact] }, metrics.a.exact, g.keys.b);
    expect(foreignMetric.body).toContain('METRIC_NOT_FOUND');
    expect(foreignMetric).toEqual(await masked(HISTORY, { p: g.projects.b, m: [missing] }, missing, g.keys.b));
    // Even for an admin key, a metric is looked up within the project asked about.
    expect((await gql(g.base, HISTORY, { p: g.projects.b, m: [metrics.a.exact] }, g.admin)).body.errors?.[0]?.extensions?.code).toBe('METRIC_NOT_FOUND');
    const reversed = await gql(g.base, HISTORY, { p: g.projects.a, m: [metrics.a.exact], from: '2030-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z' }, g.keys.a);
    expect(reversed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('compareRuns: paired records, aggregates, deltas, significance and the flipped testcases', async () => {
    const { compareRuns } = await ok(COMPARE, { b: runs.a.base, r: runs.a.current }, g.keys.a);
    expect(compareRuns).toMatchObject({
      baseRun: { id: runs.a.base, status: 'COMPLETED' },
      run: { id: runs.a.current, status: 'COMPLETED', aggregates: [{ metricId: metrics.a.exact, passRate: 0.75 }, { metricId: metrics.a.similar }] },
      pairedRecords: 4,
      unpairedRecords: 0,
      unpairedBaseRecords: 0,
      unpairedCurrentRecords: 0,
    });
    const [exact, similar] = compareRuns.metrics;
    expect(exact).toEqual({
      metricId: metrics.a.exact,
      metricName: 'exact',
      outputType: 'BOOLEAN',
      baseVersion: 1,
      version: 1,
      base: { count: 4, passRate: 0.75, mean: 0.75 },
      current: { count: 4, passRate: 0.75, mean: 0.75 },
      delta: { passRate: 0, mean: 0 },
      significance: {
        method: 'MCNEMAR_EXACT',
        pairs: 4,
        delta: 0,
        pValue: 1,
        ciLow: expect.any(Number),
        ciHigh: expect.any(Number),
        statistic: null,
        resamples: null,
        discordantBaseOnly: 1,
        discordantCurrentOnly: 1,
      },
      numRegressed: 1,
      numImproved: 1,
      regressed: [{ testcaseId: 'q2', trial: 0, baseValue: 1, value: 0, basePassed: true, passed: false }],
      improved: [{ testcaseId: 'q3', trial: 0, baseValue: 0, value: 1, basePassed: false, passed: true }],
    });
    expect(similar).toMatchObject({
      outputType: 'FLOAT',
      significance: { method: 'PAIRED_BOOTSTRAP', pairs: 4, resamples: 2000, statistic: null, discordantBaseOnly: 1, discordantCurrentOnly: 1 },
      regressed: [{ testcaseId: 'q4', baseValue: 0.7, value: 0.3 }],
      improved: [{ testcaseId: 'q3', baseValue: 0.4, value: 0.6 }],
    });
    expect(similar.significance.delta).toBeCloseTo((0.05 + 0 + 0.2 - 0.4) / 4, 12);
    expect(similar.delta.mean).toBeCloseTo((0.05 + 0 + 0.2 - 0.4) / 4, 12);
    expect(similar.significance.ciLow).toBeLessThanOrEqual(similar.significance.delta);
    expect(similar.significance.ciHigh).toBeGreaterThanOrEqual(similar.significance.delta);
    // Reproducible: the same call gives the same figures.
    expect((await ok(COMPARE, { b: runs.a.base, r: runs.a.current }, g.keys.a)).compareRuns).toEqual(compareRuns);
  });

  it('compareRuns: the lists of changes are limited by first (0 to 10000), the counts are not', async () => {
    const { compareRuns } = await ok(COMPARE, { b: runs.a.base, r: runs.a.current, first: 0 }, g.keys.a);
    expect(compareRuns.metrics[0]).toMatchObject({ numRegressed: 1, regressed: [] });
    const refused = await gql(g.base, COMPARE, { b: runs.a.base, r: runs.a.current, first: 10_001 }, g.keys.a);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("compareRuns: another project's run answers exactly as a missing one, in either position and for an admin mixing projects", async () => {
    const query = 'query ($b: ID!, $r: ID!) { compareRuns(baseRunId: $b, runId: $r) { pairedRecords } }';
    const foreignBase = await masked(query, { b: runs.a.base, r: runs.b.current }, runs.a.base, g.keys.b);
    expect(foreignBase.body).toContain('RUN_NOT_FOUND');
    expect(foreignBase).toEqual(await masked(query, { b: missing, r: runs.b.current }, missing, g.keys.b));

    const foreignRun = await masked(query, { b: runs.b.base, r: runs.a.current }, runs.a.current, g.keys.b);
    expect(foreignRun.body).toContain('RUN_NOT_FOUND');
    expect(foreignRun).toEqual(await masked(query, { b: runs.b.base, r: missing }, missing, g.keys.b));

    // An admin key reaches both projects, yet runs of two projects do not compare.
    const mixed = await masked(query, { b: runs.b.base, r: runs.a.current }, runs.a.current, g.admin);
    expect(mixed).toEqual(await masked(query, { b: runs.b.base, r: missing }, missing, g.admin));
    expect(mixed.body).toContain('RUN_NOT_FOUND');
    // Its own runs, an admin compares.
    expect((await ok(query, { b: runs.b.base, r: runs.b.current }, g.admin)).compareRuns.pairedRecords).toBe(4);
  });

  it('a gateway started without history answers UNAVAILABLE', async () => {
    const bare = await createGatewayApp({
      commands: g.backend.runs.commands,
      queries: g.backend.runs.queries,
      access: g.backend.access,
      bus: { onBroadcast: () => () => undefined },
      logger: new MemoryLogger(),
    });
    await bare.listen(0, '127.0.0.1');
    try {
      const url = (await bare.getUrl()).replace('[::1]', '127.0.0.1');
      const res = await gql(url, 'query ($b: ID!, $r: ID!) { compareRuns(baseRunId: $b, runId: $r) { pairedRecords } }', { b: runs.a.base, r: runs.a.current }, g.keys.a);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    } finally {
      await bare.close();
    }
  });
});
