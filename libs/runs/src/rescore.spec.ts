import type { JudgeUsage, MetricSnapshot } from '@assay/contracts';
import { executionStreamId, rescoreStreamId, runStreamId } from '@assay/domain';
import { LOG_START, LogProcessor } from '@assay/event-store';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import type { ScoringOutcome } from './commands/record-outcomes';
import { startRunProjections } from './read-models/run-projections';
import { republishUnscoredRecords } from './reconcile/unscored-records';
import { HumanReview } from './review';
import { connectRunsBackend, RunsBackend } from './runs-backend';
import type { RunView } from './types';

/**
 * Re-scoring and cost (issue 4) against a real PostgreSQL: rescoreRun pins the metrics' latest
 * versions in a new round, the read models count only each metric's current version and round
 * (status and aggregates follow), human scores are never touched, and tokens and cost add up.
 */
describe('runs: re-scoring and cost', () => {
  let database: TestDatabase;
  let backend: RunsBackend;
  let projections: LogProcessor;
  /** What the projector broadcast for live updates, in order. */
  const broadcasts: RunView[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('assay_rescore');
    backend = await connectRunsBackend({ url: database.url, applicationName: 'rescore-spec' });
    projections = startRunProjections({ db: backend.db, store: backend.store, bus: { broadcast: (_topic, view) => broadcasts.push(view as RunView) }, pollIntervalMs: 50 });
  });

  afterAll(async () => {
    await projections.stop();
    await backend.close();
    await database.drop();
  });

  async function setUp() {
    const project = await backend.commands.createProject({ name: 'judge' });
    const exact = await backend.commands.createMetric({
      projectId: project.id,
      name: 'exact',
      evalType: 'HEURISTIC',
      outputType: 'BOOLEAN',
      heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
    });
    const helpful = await backend.commands.createMetric({ projectId: project.id, name: 'helpful', evalType: 'AI', outputType: 'INT', promptTemplate: 'Rate {{ outputs.answer }}' });
    const tone = await backend.commands.createMetric({ projectId: project.id, name: 'tone', evalType: 'HUMAN', outputType: 'INT' });
    const run = await backend.commands.createRun({ projectId: project.id, metricIds: [exact.id, helpful.id, tone.id] });
    const records = await backend.commands.addRecords(run.id, [
      { testcaseId: 'a', outputs: { answer: 'x' }, expected: { answer: 'x' } },
      { testcaseId: 'b', outputs: { answer: 'y' }, expected: { answer: 'z' } },
    ]);
    const metrics = await backend.commands.metricsOfRun(run.id);
    const byName = (name: string) => metrics.find((m) => m.name === name)!;
    return { project, run, records, exact: byName('exact'), helpful: byName('helpful'), tone: byName('tone') };
  }

  const usage = (tokens: number, cost: number, cached = false): JudgeUsage => ({ model: 'gpt-4o-mini-2024', tokens: { prompt: tokens - 10, completion: 10 }, cost, cached });
  const score = (runId: string, recordId: string, metric: MetricSnapshot, value: number, extra: Partial<ScoringOutcome> = {}): ScoringOutcome =>
    ({ kind: 'score', runId, recordId, metric, value, reasoning: `v${value}`, ...extra }) as ScoringOutcome;

  async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (ok(value)) return value;
      if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('scores carry the judge model, tokens and cost; the run sums them per metric; a re-score counts the new version only', async () => {
    const { run, records, exact, helpful, tone } = await setUp();
    const [a, b] = records.map((r) => r.id);
    await backend.commands.recordOutcomes([
      score(run.id, a, exact, 1),
      score(run.id, b, exact, 0),
      score(run.id, a, helpful, 5, { judge: usage(110, 0.002) }),
      { kind: 'failure', runId: run.id, recordId: b, metric: helpful, code: 'JUDGE_OUTPUT_INVALID', reason: 'raw: "maybe"', attempts: 1, judge: usage(330, 0.006) },
    ]);
    const review = new HumanReview(backend.store, backend.db);
    await review.submitScore({ recordId: a, metricId: tone.metricId, value: 4, reasoning: 'kind' }, { scoredBy: 'k1' });
    await review.submitScore({ recordId: b, metricId: tone.metricId, value: 2, reasoning: 'curt' }, { scoredBy: 'k1' });

    const before = await until(() => backend.queries.getRun(run.id), (v) => v!.numScores === 5 && v!.numFailures === 1);
    expect(before!.status).toBe('ERROR');
    expect(await backend.queries.getRunCost(run.id)).toEqual({
      systemTokens: 0,
      systemCost: 0,
      judgeTokens: 440,
      judgeCost: 0.008,
      total: 0.008,
      perMetric: [
        { metricId: exact.metricId, tokens: 0, cost: 0 },
        { metricId: helpful.metricId, tokens: 440, cost: 0.008 },
        { metricId: tone.metricId, tokens: 0, cost: 0 },
      ],
    });
    const page = await backend.queries.listRecords(run.id, {});
    const judged = page.items[0].node.scores.find((s) => s.metricId === helpful.metricId)!;
    expect(judged).toMatchObject({ value: 5, judge: { model: 'gpt-4o-mini-2024', promptTokens: 100, completionTokens: 10, cost: 0.002, cached: false } });

    // A new version of the AI metric, then rescoreRun naming it and the HUMAN one (skipped).
    await backend.commands.updateMetric({ metricId: helpful.metricId, guidelines: 'Be strict.' });
    const rescored = await backend.commands.rescoreRun({ runId: run.id, metricIds: [helpful.metricId, tone.metricId], bypassCache: true });
    expect(rescored.metrics.map((m) => [m.name, m.version])).toEqual([
      ['exact', 1],
      ['helpful', 2],
      ['tone', 1],
    ]);
    // The failed v1 outcome no longer counts: no error, two records lack helpful v2.
    expect(rescored).toMatchObject({ status: 'SCORING', numScores: 4, numFailures: 0 });
    const aggregates = await backend.queries.getAggregates(run.id);
    expect(aggregates.find((x) => x.metricId === helpful.metricId)).toMatchObject({ count: 0, failed: 0, passRate: null });
    expect(aggregates.find((x) => x.metricId === tone.metricId)).toMatchObject({ count: 2, mean: 3 });

    // The workers' view: helpful at v2 in round 1; the stream they watch moved.
    const pinned = await backend.commands.metricsOfRun(run.id);
    expect(pinned.map((m) => [m.name, m.version, (m as { round?: number }).round])).toEqual([
      ['exact', 1, 0],
      ['helpful', 2, 1],
      ['tone', 1, 0],
    ]);
    expect(await backend.commands.rescoreVersions([run.id, 'no-such-run'])).toEqual(new Map([[run.id, 1], ['no-such-run', 0]]));
    // One RecordRescoreRequested per record on the run stream, for the automatic metric named, with bypass.
    const requests = (await backend.store.readStream(runStreamId(run.id))).filter((e) => e.type === 'RecordRescoreRequested');
    expect(requests.map((e) => e.data)).toEqual([
      expect.objectContaining({ recordId: a, round: 1, metricIds: [helpful.metricId], bypassCache: true, outputs: { answer: 'x' } }),
      expect.objectContaining({ recordId: b, round: 1, metricIds: [helpful.metricId], bypassCache: true, outputs: { answer: 'y' } }),
    ]);

    // Round 1 outcomes arrive: counted; a late round-0 outcome of v2 would not be.
    const v2 = pinned.find((m) => m.name === 'helpful')!;
    await backend.commands.recordOutcomes([score(run.id, a, v2, 4, { round: 1, judge: usage(100, 0.001) }), score(run.id, b, v2, 2, { round: 1, judge: usage(100, 0.001, true) })]);
    const done = await until(() => backend.queries.getRun(run.id), (v) => v!.status === 'COMPLETED');
    expect(done).toMatchObject({ numScores: 6, numFailures: 0 });
    expect((await backend.queries.getAggregates(run.id)).find((x) => x.metricId === helpful.metricId)).toMatchObject({ count: 2, passed: 1, mean: 3 });
    // What was spent adds up across rounds.
    expect((await backend.queries.getRunCost(run.id)).perMetric[1]).toEqual({ metricId: helpful.metricId, tokens: 640, cost: 0.01 });

    // Human scores untouched: the same values, still HUMAN.
    const after = await backend.queries.listRecords(run.id, {});
    expect(after.items.map((i) => i.node.scores.find((s) => s.metricId === tone.metricId))).toEqual([
      expect.objectContaining({ value: 4, source: 'HUMAN' }),
      expect.objectContaining({ value: 2, source: 'HUMAN' }),
    ]);
  });

  it('a re-score of the same version in a new round replaces the outcome row, moving the counts by the difference', async () => {
    const { run, records, exact, helpful } = await setUp();
    const [a, b] = records.map((r) => r.id);
    await backend.commands.recordOutcomes([score(run.id, a, exact, 1), score(run.id, b, exact, 0), score(run.id, a, helpful, 5), score(run.id, b, helpful, 5)]);
    await until(() => backend.queries.getRun(run.id), (v) => v!.numScores === 4);

    const rescored = await backend.commands.rescoreRun({ runId: run.id, metricIds: [exact.metricId] });
    expect(rescored.metrics.map((m) => m.version)).toEqual([1, 1, 1]);
    expect(rescored.numScores).toBe(2);
    await backend.commands.recordOutcomes([score(run.id, a, exact, 0, { round: 1 }), score(run.id, b, exact, 0, { round: 1 })]);
    // Redelivered: decided once per round.
    await backend.commands.recordOutcomes([score(run.id, a, exact, 1, { round: 1 })]);
    await until(() => backend.queries.getRun(run.id), (v) => v!.numScores === 4);
    expect((await backend.queries.getAggregates(run.id))[0]).toMatchObject({ count: 2, passed: 0 });
    const page = await backend.queries.listRecords(run.id, {});
    expect(page.items[0].node.scores.filter((s) => s.metricId === exact.metricId)).toEqual([expect.objectContaining({ value: 0, round: 1 })]);
  });

  it('every view broadcast for a run has a higher revision than the one before, through a re-score that sets the counts back', async () => {
    // Live subscribers order views by revision: by counts, the re-scored run's views would look
    // older than the scored ones and never be pushed (the subscriber stayed at the old status).
    const { run, records, exact, helpful } = await setUp();
    const [a, b] = records.map((r) => r.id);
    await backend.commands.recordOutcomes([score(run.id, a, exact, 1), score(run.id, b, exact, 0), score(run.id, a, helpful, 5), score(run.id, b, helpful, 5)]);
    const scored = await until(() => backend.queries.getRun(run.id), (v) => v!.numScores === 4);
    await backend.commands.rescoreRun({ runId: run.id, metricIds: [exact.metricId] });
    const rescored = await until(() => backend.queries.getRun(run.id), (v) => v!.numScores === 2);
    expect(rescored!.revision).toBeGreaterThan(scored!.revision);
    await backend.commands.recordOutcomes([score(run.id, a, exact, 1, { round: 1 }), score(run.id, b, exact, 1, { round: 1 })]);
    const done = await until(() => backend.queries.getRun(run.id), (v) => v!.numScores === 4 && v!.revision > rescored!.revision);

    const views = broadcasts.filter((view) => view.id === run.id);
    const revisions = views.map((view) => view.revision);
    expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(views.at(-1)).toMatchObject({ revision: done!.revision, numScores: 4 });
    // One per event the run's row reflects: created, two records, four scores, a re-score request and one per record, two scores.
    expect(done!.revision).toBe(1 + 2 + 4 + 1 + 2 + 2);
  });

  it('refuses a metric the run does not have, and a request naming only HUMAN metrics', async () => {
    const { run, tone, project } = await setUp();
    const other = await backend.commands.createMetric({ projectId: project.id, name: 'other', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'JSON_VALID' } });
    await expect(backend.commands.rescoreRun({ runId: run.id, metricIds: [other.id] })).rejects.toMatchObject({ code: 'METRIC_NOT_FOUND' });
    await expect(backend.commands.rescoreRun({ runId: run.id, metricIds: [tone.metricId] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(backend.commands.rescoreRun({ runId: 'nope' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    const denied = new Error('not yours');
    await expect(
      backend.commands.rescoreRun({ runId: run.id }, () => {
        throw denied;
      }),
    ).rejects.toBe(denied);
  });

  it('a large run is asked in several appends, one request per record, every record once, in the order they were added', async () => {
    const { run } = await setUp();
    for (let i = 0; i < 2; i++) await backend.commands.addRecords(run.id, Array.from({ length: 700 }, (_, j) => ({ outputs: { answer: `a${i}-${j}` } })));
    // Records the server executed live on streams of their own; rescoreRun finds them through the read model.
    const executed = [`${run.id}-x1`, `${run.id}-x2`];
    for (const recordId of executed) {
      await backend.store.append([
        {
          streamId: executionStreamId(recordId),
          expectedVersion: 'no_stream',
          events: [{ type: 'RecordAdded', data: { runId: run.id, recordId, testcaseId: null, inputs: null, outputs: { answer: recordId }, expected: null } }],
        },
      ]);
    }
    await backend.commands.addRecords(run.id, [{ outputs: { answer: 'last' } }]);
    await until(() => backend.queries.getRun(run.id), (v) => v!.numRecords === 1405);

    await backend.commands.rescoreRun({ runId: run.id });
    const added = await backend.store.readAll({ after: LOG_START, limit: 10_000, types: ['RecordAdded'] });
    const requests = (await backend.store.readStream(runStreamId(run.id))).filter((e) => e.type === 'RecordRescoreRequested');
    const recordIdOf = (e: { data: unknown }) => (e.data as { recordId: string }).recordId;
    const ofThisRun = added.events.filter((e) => (e.data as { runId: string }).runId === run.id);
    expect(requests.map(recordIdOf)).toEqual(ofThisRun.map(recordIdOf));
    expect(requests).toHaveLength(1405);
    expect(requests.find((e) => recordIdOf(e) === executed[1])!.data).toMatchObject({ outputs: { answer: executed[1] }, round: 1 });
    // A page of 1,000 records per append: the first with the request, the rest after it.
    expect(new Set(requests.map((e) => e.transactionId)).size).toBe(2);
    const [request] = await backend.store.readStream(rescoreStreamId(run.id));
    expect(request.data).toMatchObject({ round: 1, numRecords: 1405 });
    expect(request.transactionId).toBe(requests[0].transactionId);
  });

  it('system calls of executed records add up in the run cost', async () => {
    const { run } = await setUp();
    const execution = { model: 'gpt-4o-mini', tokens: { prompt: 200, completion: 50 }, cost: 0.0003, latencyMs: 420 };
    const version = await backend.store.streamVersion(runStreamId(run.id));
    await backend.store.append([
      {
        streamId: runStreamId(run.id),
        expectedVersion: version,
        events: [
          { type: 'RecordAdded', data: { runId: run.id, recordId: `${run.id}-x1`, testcaseId: null, inputs: null, outputs: { answer: 'q' }, expected: null, execution } },
          { type: 'RecordAdded', data: { runId: run.id, recordId: `${run.id}-x2`, testcaseId: null, inputs: null, outputs: { answer: 'q' }, expected: null, execution } },
        ],
      },
    ]);
    const cost = await until(() => backend.queries.getRunCost(run.id), (c) => c.systemTokens > 0);
    expect(cost).toMatchObject({ systemTokens: 500, judgeTokens: 0, judgeCost: 0 });
    expect(cost.systemCost).toBeCloseTo(0.0006, 12);
    expect(cost.total).toBeCloseTo(0.0006, 12);
  });

  it('the sweep republishes records lacking an outcome of the current round, once the re-score is older than its grace period', async () => {
    const { run, records, exact, helpful } = await setUp();
    await backend.commands.recordOutcomes(records.flatMap((r) => [score(run.id, r.id, exact, 1), score(run.id, r.id, helpful, 4)]));
    await until(() => backend.queries.getRun(run.id), (v) => v!.numScores === 4);
    await backend.commands.rescoreRun({ runId: run.id, metricIds: [helpful.metricId] });
    const published: number[] = [];
    const bus = { publish: async (events: readonly { globalPosition: number; data: unknown }[]) => void published.push(...events.filter((e) => (e.data as { runId: string }).runId === run.id).map((e) => e.globalPosition)) };
    // Within the grace period nothing is republished, though the re-score is pending.
    await republishUnscoredRecords({ sql: backend.db, store: backend.store, bus, olderThanMs: 60_000, limit: 10_000 });
    expect(published).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await republishUnscoredRecords({ sql: backend.db, store: backend.store, bus, olderThanMs: 10, limit: 10_000 });
    expect(published).toHaveLength(2);
  });
});
