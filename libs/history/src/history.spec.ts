import type { MetricSnapshot } from '@assay/contracts';
import { compareMetricPairs, mcnemarTest } from '@assay/analysis';
import type { LogProcessor } from '@assay/event-store';
import { connectRunsBackend, RunsBackend, startRunProjections, type RecordView } from '@assay/runs';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { HistoryQueries } from './history-queries';

/**
 * History and comparison against a real PostgreSQL: the runs library's commands make projects,
 * metrics, runs, records and outcomes, its projector folds them into the read models, and the
 * queries read those.
 */
describe('history and comparison of runs', () => {
  let database: TestDatabase;
  let backend: RunsBackend;
  let projections: LogProcessor;
  let history: HistoryQueries;

  beforeAll(async () => {
    database = await createTestDatabase('assay_history');
    backend = await connectRunsBackend({ url: database.url, applicationName: 'history-spec' });
    projections = startRunProjections({ db: backend.db, store: backend.store, bus: { broadcast: () => undefined }, pollIntervalMs: 50 });
    history = new HistoryQueries(backend.db);
  });

  afterAll(async () => {
    await projections.stop();
    await backend.close();
    await database.drop();
  });

  async function setUp() {
    const project = await backend.commands.createProject({ name: 'support bot' });
    const exact = await backend.commands.createMetric({
      projectId: project.id,
      name: 'exact',
      evalType: 'HEURISTIC',
      outputType: 'BOOLEAN',
      heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
    });
    const similar = await backend.commands.createMetric({
      projectId: project.id,
      name: 'similar',
      evalType: 'HEURISTIC',
      outputType: 'FLOAT',
      heuristic: { kind: 'LEVENSHTEIN' },
      passingThreshold: 0.5,
    });
    const contains = await backend.commands.createMetric({
      projectId: project.id,
      name: 'contains',
      evalType: 'HEURISTIC',
      outputType: 'BOOLEAN',
      heuristic: { kind: 'CONTAINS' },
    });
    return { project, exact, similar, contains };
  }

  async function newRun(projectId: string, metricIds: string[]) {
    const run = await backend.commands.createRun({ projectId, metricIds });
    const metrics = await backend.commands.metricsOfRun(run.id);
    return { run, metrics };
  }

  const score = (runId: string, record: RecordView, metric: MetricSnapshot, value: number) =>
    ({ kind: 'score', runId, recordId: record.id, metric, value, reasoning: '' }) as const;

  const settle = () => projections.waitUntilCaughtUp();

  describe('runHistory', () => {
    it('one series per metric, one point per run that pinned it, oldest first, from the aggregates, with the pinned version', async () => {
      const { project, exact, similar, contains } = await setUp();
      const first = await newRun(project.id, [exact.id, similar.id]);
      const firstRecords = await backend.commands.addRecords(first.run.id, [{}, {}, {}, {}]);
      await backend.commands.recordOutcomes([
        ...firstRecords.map((r, i) => score(first.run.id, r, first.metrics[0], i < 3 ? 1 : 0)),
        ...firstRecords.map((r, i) => score(first.run.id, r, first.metrics[1], [0.2, 0.4, 0.6, 1][i])),
      ]);
      // The metric is edited into version 2: later runs pin it, and it is still one series.
      await backend.commands.updateMetric({ metricId: exact.id, description: 'stricter' });
      const second = await newRun(project.id, [exact.id, contains.id]);
      const [only] = await backend.commands.addRecords(second.run.id, [{}]);
      await backend.commands.recordOutcomes([score(second.run.id, only, second.metrics[0], 0)]);
      const third = await newRun(project.id, [similar.id]); // no records yet
      // Another project's runs never show.
      const other = await setUp();
      await newRun(other.project.id, [other.exact.id]);
      await settle();

      const series = await history.runHistory({ projectId: project.id, metricIds: [exact.id, similar.id, contains.id] });
      expect(series.map((s) => [s.metricId, s.metricName, s.points.map((p) => p.runId)])).toEqual([
        [exact.id, 'exact', [first.run.id, second.run.id]],
        [similar.id, 'similar', [first.run.id, third.run.id]],
        [contains.id, 'contains', [second.run.id]],
      ]);
      expect(series[0].points).toEqual([
        { runId: first.run.id, runCreatedAt: first.run.createdAt, metricVersion: 1, count: 4, passed: 3, failed: 0, passRate: 0.75, mean: 0.75 },
        { runId: second.run.id, runCreatedAt: second.run.createdAt, metricVersion: 2, count: 1, passed: 0, failed: 0, passRate: 0, mean: 0 },
      ]);
      expect(series[1].points[0]).toMatchObject({ count: 4, passed: 2, passRate: 0.5, mean: expect.closeTo(0.55, 12) });
      expect(series[1].points[1]).toMatchObject({ runId: third.run.id, count: 0, passRate: null, mean: null });
      expect(series[2].points[0]).toMatchObject({ count: 0, passRate: null });
    });

    it('from (inclusive) and to (exclusive) select runs by creation time; an empty window still names the metric', async () => {
      const { project, exact } = await setUp();
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push((await newRun(project.id, [exact.id])).run);
      await settle();
      const points = async (from?: Date, to?: Date) =>
        (await history.runHistory({ projectId: project.id, metricIds: [exact.id], from, to }))[0].points.map((p) => p.runId);
      expect(await points()).toEqual(runs.map((r) => r.id));
      expect(await points(runs[1].createdAt)).toEqual([runs[1].id, runs[2].id]);
      expect(await points(undefined, runs[1].createdAt)).toEqual([runs[0].id]);
      expect(await points(runs[1].createdAt, runs[2].createdAt)).toEqual([runs[1].id]);
      const empty = await history.runHistory({ projectId: project.id, metricIds: [exact.id], from: new Date(Date.now() + 86_400_000) });
      expect(empty).toEqual([{ metricId: exact.id, metricName: 'exact', points: [] }]);
    });

    it('a metric no run used yet is an empty series; duplicates are asked once; no ids, no series', async () => {
      const { project, exact } = await setUp();
      await settle();
      expect(await history.runHistory({ projectId: project.id, metricIds: [exact.id, exact.id] })).toEqual([{ metricId: exact.id, metricName: 'exact', points: [] }]);
      expect(await history.runHistory({ projectId: project.id, metricIds: [] })).toEqual([]);
    });

    it("refuses an unknown metric and another project's metric alike (METRIC_NOT_FOUND), a reversed window and too many ids (BAD_USER_INPUT)", async () => {
      const { project, exact } = await setUp();
      const other = await setUp();
      await newRun(other.project.id, [other.exact.id]);
      await settle();
      await expect(history.runHistory({ projectId: project.id, metricIds: [exact.id, 'no-such-metric'] })).rejects.toMatchObject({
        code: 'METRIC_NOT_FOUND',
        details: { metricId: 'no-such-metric' },
      });
      await expect(history.runHistory({ projectId: project.id, metricIds: [other.exact.id] })).rejects.toMatchObject({
        code: 'METRIC_NOT_FOUND',
        message: `Metric "${other.exact.id}" does not exist: check the metric id (createMetric returns it).`,
      });
      await expect(history.runHistory({ projectId: project.id, metricIds: [exact.id], from: new Date(2000), to: new Date(1000) })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(history.runHistory({ projectId: project.id, metricIds: Array.from({ length: 51 }, (_, i) => `m${i}`) })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });
  });

  describe('compareRuns', () => {
    async function twoRuns() {
      const { project, exact, similar, contains } = await setUp();
      const base = await newRun(project.id, [exact.id, similar.id, contains.id]);
      const current = await newRun(project.id, [similar.id, exact.id]);
      // Base: t1…t6, a record without a testcase id, t1 again. Current: t1…t5, t7, one without an id.
      const baseRecords = await backend.commands.addRecords(
        base.run.id,
        ['t1', 't2', 't3', 't4', 't5', 't6', null, 't1'].map((testcaseId) => ({ testcaseId, outputs: { answer: 'x' } })),
      );
      const currentRecords = await backend.commands.addRecords(
        current.run.id,
        ['t5', 't4', 't3', 't2', 't1', 't7', null].map((testcaseId) => ({ testcaseId, outputs: { answer: 'y' } })),
      );
      const byTestcase = (records: RecordView[]) => (id: string) => records.find((r) => r.testcaseId === id)!;
      const b = byTestcase(baseRecords);
      const c = byTestcase(currentRecords);
      const [bExact, bSimilar, bContains] = base.metrics;
      const [cSimilar, cExact] = current.metrics;
      await backend.commands.recordOutcomes([
        // exact (BOOLEAN): base passes t1 t2 t4, current passes t1 t3 t4 t5 → t2 regressed; t3, t5 improved.
        ...['t1', 't2', 't3', 't4', 't5'].map((t) => score(base.run.id, b(t), bExact, ['t1', 't2', 't4'].includes(t) ? 1 : 0)),
        score(base.run.id, b('t6'), bExact, 1),
        score(base.run.id, baseRecords[6], bExact, 1),
        score(base.run.id, baseRecords[7], bExact, 0),
        ...['t1', 't2', 't3', 't4', 't5'].map((t) => score(current.run.id, c(t), cExact, t === 't2' ? 0 : 1)),
        score(current.run.id, c('t7'), cExact, 0),
        // similar (FLOAT, passes at 0.5): t2 failed to score in current, so it is left out of the pairs.
        ...[0.9, 0.8, 0.3, 0.6, 0.2].map((v, i) => score(base.run.id, b(`t${i + 1}`), bSimilar, v)),
        ...[0.95, 0.7, 0.4, 0.25].map((v, i) => score(current.run.id, c(['t1', 't3', 't4', 't5'][i]), cSimilar, v)),
        { kind: 'failure', runId: current.run.id, recordId: c('t2').id, metric: cSimilar, code: 'METRIC_CONFIG_INVALID', reason: 'broken', attempts: 1 },
        score(base.run.id, b('t1'), bContains, 1),
      ]);
      await settle();
      return { project, exact, similar, contains, base, current, b, c };
    }

    it('aligns records by testcase, compares the metrics both runs pinned, with aggregates, deltas, significance and flipped testcases', async () => {
      const { exact, similar, base, current } = await twoRuns();
      const comparison = await history.compareRuns(base.run.id, current.run.id);
      expect(comparison).toMatchObject({
        projectId: base.run.projectId,
        baseRunId: base.run.id,
        runId: current.run.id,
        pairedRecords: 5,
        unpairedRecords: 5,
        unpairedBaseRecords: 3, // t6, the record without an id, the second t1
        unpairedCurrentRecords: 2, // t7, the record without an id
      });
      // In the current run's order; `contains` (base only) is not compared.
      expect(comparison.metrics.map((m) => m.metricId)).toEqual([similar.id, exact.id]);

      const [sim, ex] = comparison.metrics;
      expect(ex).toMatchObject({
        metricName: 'exact',
        outputType: 'BOOLEAN',
        baseVersion: 1,
        version: 1,
        base: { count: 8, passRate: 5 / 8, mean: 5 / 8 },
        current: { count: 6, passRate: 4 / 6, mean: 4 / 6 },
        significance: {
          method: 'MCNEMAR_EXACT',
          pairs: 5,
          delta: 1 / 5,
          pValue: mcnemarTest(1, 2).pValue,
          discordantBaseOnly: 1,
          discordantCurrentOnly: 2,
        },
      });
      expect(ex.delta.passRate).toBeCloseTo(4 / 6 - 5 / 8, 12);
      expect(ex.regressed).toEqual([{ testcaseId: 't2', trial: 0, baseValue: 1, value: 0, basePassed: true, passed: false }]);
      expect(ex.improved.map((x) => x.testcaseId)).toEqual(['t3', 't5']);

      expect(sim).toMatchObject({ outputType: 'FLOAT', base: { count: 5 }, current: { count: 4 } });
      expect(sim.significance).toMatchObject({ method: 'PAIRED_BOOTSTRAP', pairs: 4, resamples: 2000, discordantBaseOnly: 1, discordantCurrentOnly: 1 });
      expect(sim.significance.delta).toBeCloseTo((0.05 + 0.4 - 0.2 + 0.05) / 4, 12);
      expect(sim.regressed).toEqual([{ testcaseId: 't4', trial: 0, baseValue: 0.6, value: 0.4, basePassed: true, passed: false }]);
      expect(sim.improved).toEqual([{ testcaseId: 't3', trial: 0, baseValue: 0.3, value: 0.7, basePassed: false, passed: true }]);
      // Exactly what the pure comparison gives for these pairs: reproducible, call after call.
      const expected = compareMetricPairs('FLOAT', [
        { testcaseId: 't1', trial: 0, base: { value: 0.9, passed: true }, current: { value: 0.95, passed: true } },
        { testcaseId: 't3', trial: 0, base: { value: 0.3, passed: false }, current: { value: 0.7, passed: true } },
        { testcaseId: 't4', trial: 0, base: { value: 0.6, passed: true }, current: { value: 0.4, passed: false } },
        { testcaseId: 't5', trial: 0, base: { value: 0.2, passed: false }, current: { value: 0.25, passed: false } },
      ]);
      expect(sim.significance).toEqual(expected.significance);
      expect(await history.compareRuns(base.run.id, current.run.id)).toEqual(comparison);
    });

    it('a re-scored record counts with its newest metric version', async () => {
      const { base, current, c } = await twoRuns();
      const [, cExact] = current.metrics;
      await backend.commands.recordOutcomes([score(current.run.id, c('t2'), { ...cExact, version: 2 }, 1)]);
      await settle();
      const ex = (await history.compareRuns(base.run.id, current.run.id)).metrics[1];
      expect(ex.regressed).toEqual([]);
      expect(ex.significance).toMatchObject({ discordantBaseOnly: 0, discordantCurrentOnly: 2 });
    });

    it('a run compared with itself: every record paired, no change, p = 1', async () => {
      const { base } = await twoRuns();
      const comparison = await history.compareRuns(base.run.id, base.run.id);
      expect(comparison).toMatchObject({ pairedRecords: 6, unpairedRecords: 4 });
      for (const metric of comparison.metrics) {
        expect(metric.regressed).toEqual([]);
        expect(metric.improved).toEqual([]);
        expect(metric.delta).toEqual({ passRate: metric.base.count ? 0 : null, mean: metric.base.count ? 0 : null });
        if (metric.significance.pairs > 0) expect(metric.significance).toMatchObject({ delta: 0, pValue: 1 });
      }
    });

    it('runs without scores or common metrics compare to empty figures', async () => {
      const { project, exact, similar } = await setUp();
      const a = await newRun(project.id, [exact.id]);
      const b = await newRun(project.id, [similar.id]);
      const cRun = await newRun(project.id, [exact.id]);
      await backend.commands.addRecords(a.run.id, [{ testcaseId: 'q' }]);
      await backend.commands.addRecords(cRun.run.id, [{ testcaseId: 'q' }]);
      await settle();
      expect(await history.compareRuns(a.run.id, b.run.id)).toMatchObject({ pairedRecords: 0, unpairedRecords: 1, metrics: [] });
      const [metric] = (await history.compareRuns(a.run.id, cRun.run.id)).metrics;
      expect(metric).toMatchObject({
        base: { count: 0, passRate: null, mean: null },
        delta: { passRate: null, mean: null },
        significance: { pairs: 0, pValue: null, ciLow: null },
        regressed: [],
      });
    });

    it('pairs records by trial where records carry one (rm_records.trial), a missing trial being trial 0', async () => {
      // Issue 4 adds rm_records.trial; make sure this database has it, then read with a fresh instance.
      await backend.db.query('alter table rm_records add column if not exists trial int');
      const withTrials = new HistoryQueries(backend.db);
      const { project, exact } = await setUp();
      const base = await newRun(project.id, [exact.id]);
      const current = await newRun(project.id, [exact.id]);
      const add = (runId: string) => backend.commands.addRecords(runId, ['t1', 't1', 't1', 't2'].map((testcaseId) => ({ testcaseId })));
      const [b0, b1, b2, b3] = await add(base.run.id);
      const [c0, c1, c2, c3] = await add(current.run.id);
      await settle();
      // Base: t1 trials 0, 1, 2 and t2 without a trial. Current: t1 trials 2, 1, 5 and t2 trial 0.
      const setTrial = (recordId: string, trial: number | null) => backend.db.query('update rm_records set trial = $2 where id = $1', [recordId, trial]);
      for (const [record, trial] of [[b0, 0], [b1, 1], [b2, 2], [b3, null], [c0, 2], [c1, 1], [c2, 5], [c3, 0]] as const) await setTrial(record.id, trial);
      await backend.commands.recordOutcomes([
        ...[b0, b1, b2, b3].map((r) => score(base.run.id, r, base.metrics[0], 1)),
        ...[c0, c1, c2, c3].map((r, i) => score(current.run.id, r, current.metrics[0], i === 0 ? 0 : 1)),
      ]);
      await settle();
      const comparison = await withTrials.compareRuns(base.run.id, current.run.id);
      expect(comparison).toMatchObject({ pairedRecords: 3, unpairedBaseRecords: 1, unpairedCurrentRecords: 1 });
      // c0 (t1, trial 2) fails now: its partner is b2, the base record of trial 2.
      expect(comparison.metrics[0].regressed).toEqual([{ testcaseId: 't1', trial: 2, baseValue: 1, value: 0, basePassed: true, passed: false }]);
      expect(comparison.metrics[0].significance).toMatchObject({ pairs: 3, discordantBaseOnly: 1, discordantCurrentOnly: 0 });
    });

    it("refuses a missing run and another project's run alike (RUN_NOT_FOUND naming the id)", async () => {
      const { base } = await twoRuns();
      const other = await setUp();
      const foreign = await newRun(other.project.id, [other.exact.id]);
      await settle();
      await expect(history.compareRuns('no-such-run', base.run.id)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND', details: { runId: 'no-such-run' } });
      await expect(history.compareRuns(base.run.id, 'no-such-run')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND', details: { runId: 'no-such-run' } });
      await expect(history.compareRuns(base.run.id, foreign.run.id)).rejects.toMatchObject({
        code: 'RUN_NOT_FOUND',
        message: `Run "${foreign.run.id}" does not exist: check the run id (createRun returns it).`,
      });
    });
  });
});
