import { AssayError, isAssayError, MetricSnapshot } from '@assay/contracts';
import { recordStreamId } from '@assay/domain';
import type { LogProcessor } from '@assay/event-store';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { startRunProjections } from '../read-models/run-projections';
import { projectRuns } from '../read-models/run-projector';
import { connectRunsBackend, RunsBackend } from '../runs-backend';
import type { RunView } from '../types';
import { HumanReview } from './human-review';

/**
 * Human review against a real PostgreSQL: people's scores and corrections through the record
 * streams, the read models (status, counts, aggregates, the review queue) that follow them, and
 * automatic outcomes that never replace a human score.
 */
describe('runs: human review', () => {
  let database: TestDatabase;
  let backend: RunsBackend;
  let review: HumanReview;
  let commands: RunsBackend['commands'];
  let queries: RunsBackend['queries'];
  let projections: LogProcessor;
  const broadcasts: RunView[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('assay_human_review');
    backend = await connectRunsBackend({ url: database.url, applicationName: 'human-review-spec' });
    ({ commands, queries } = backend);
    review = new HumanReview(backend.store, backend.db);
    projections = startRunProjections({
      db: backend.db,
      store: backend.store,
      bus: { broadcast: (_topic, view) => broadcasts.push(view as RunView) },
      pollIntervalMs: 20,
    });
  });

  afterAll(async () => {
    await projections.stop();
    await backend.close();
    await database.drop();
  });


  async function setUp(humanOutputType: 'INT' | 'BOOLEAN' | 'FLOAT' = 'INT') {
    const project = await commands.createProject({ name: 'reviewed bot' });
    const exact = await commands.createMetric({
      projectId: project.id,
      name: 'exact',
      evalType: 'HEURISTIC',
      outputType: 'BOOLEAN',
      heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
    });
    const tone = await commands.createMetric({ projectId: project.id, name: 'tone', evalType: 'HUMAN', outputType: humanOutputType, guidelines: '5: kind and clear' });
    return { project, exact, tone };
  }

  async function runWith(projectId: string, metricIds: string[], answers: string[]) {
    const run = await commands.createRun({ projectId, metricIds });
    const metrics = await commands.metricsOfRun(run.id);
    const records = await commands.addRecords(
      run.id,
      answers.map((answer, i) => ({ testcaseId: `t${i}`, inputs: { q: i }, outputs: { answer }, expected: { answer: 'Paris' } })),
    );
    return { run, metrics, records };
  }

  /** What the scoring worker does for the automatic metric. */
  const scoreAutomatically = (runId: string, recordIds: readonly string[], metric: MetricSnapshot, value = 1) =>
    commands.recordOutcomes(recordIds.map((recordId) => ({ kind: 'score', runId, recordId, metric, value, reasoning: 'worker' }) as const));

  async function settled(runId: string): Promise<RunView> {
    await projections.waitUntilCaughtUp();
    return (await queries.getRun(runId))!;
  }

  async function refusal(promise: Promise<unknown>): Promise<AssayError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isAssayError(error)) throw error ?? new Error('accepted');
    return error;
  }

  const submit = (recordId: string, metricId: string, value: number, reasoning = 'because', scoredBy = 'key-alice') =>
    review.submitScore({ recordId, metricId, value, reasoning }, { scoredBy });

  it('keeps a run SCORING until the last human score, then COMPLETED; new records make it SCORING again', async () => {
    const { project, exact, tone } = await setUp();
    const { run, metrics, records } = await runWith(project.id, [exact.id, tone.id], ['Paris', 'Lyon', 'Paris']);
    expect(await settled(run.id)).toMatchObject({ status: 'SCORING', phase: 'SCORING', numRecords: 3, numHumanMetrics: 1, numHumanScores: 0, numAwaitingHuman: 3 });

    await scoreAutomatically(run.id, records.map((r) => r.id), metrics[0]);
    // Every automatic outcome is in: only people are missing (phase AWAITING_HUMAN).
    const waiting = await settled(run.id);
    expect(waiting).toMatchObject({ status: 'SCORING', phase: 'AWAITING_HUMAN', numScores: 3, numAwaitingHuman: 3 });

    const first = await submit(records[0].id, tone.id, 5, 'lovely');
    // submitScore returns once queries show the score (read-your-writes), with who gave it.
    expect(first).toEqual({
      recordId: records[0].id,
      runId: run.id,
      metricId: tone.id,
      metricVersion: 1,
      value: 5,
      passed: true,
      reasoning: 'lovely',
      error: null,
      source: 'HUMAN',
      scoredBy: 'key-alice',
    });
    expect(await queries.getRun(run.id)).toMatchObject({ status: 'SCORING', numScores: 4, numHumanScores: 1, numAwaitingHuman: 2 });
    await submit(records[1].id, tone.id, 2, 'curt');
    expect(await queries.getRun(run.id)).toMatchObject({ status: 'SCORING', numHumanScores: 2, numAwaitingHuman: 1 });
    await submit(records[2].id, tone.id, 4);
    const done = await settled(run.id);
    expect(done).toMatchObject({ status: 'COMPLETED', phase: 'DONE', numScores: 6, numHumanScores: 3, numAwaitingHuman: 0 });
    expect(broadcasts.filter((v) => v.id === run.id).at(-1)).toMatchObject({ status: 'COMPLETED', numAwaitingHuman: 0 });

    // The record's scores tell the person's from the worker's.
    const page = await queries.listRecords(run.id, { first: 1 });
    expect(page.items[0].node.scores).toHaveLength(2);
    expect(page.items[0].node.scores).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ metricId: exact.id, value: 1, source: 'AUTOMATIC', scoredBy: null }),
        expect.objectContaining({ metricId: tone.id, value: 5, passed: true, reasoning: 'lovely', source: 'HUMAN', scoredBy: 'key-alice' }),
      ]),
    );

    const [late] = await commands.addRecords(run.id, [{ outputs: { answer: 'Paris' }, expected: { answer: 'Paris' } }]);
    expect(await settled(run.id)).toMatchObject({ status: 'SCORING', numRecords: 4, numAwaitingHuman: 1 });
    await submit(late.id, tone.id, 3);
    // The person was quicker than the worker: still SCORING, nothing awaits a person.
    const automaticMissing = await settled(run.id);
    expect(automaticMissing).toMatchObject({ status: 'SCORING', phase: 'SCORING', numAwaitingHuman: 0 });
    await scoreAutomatically(run.id, [late.id], metrics[0]);
    expect(await settled(run.id)).toMatchObject({ status: 'COMPLETED', numScores: 8 });
  });

  it('corrects a score: one more event, aggregates and counts move by the difference, never twice', async () => {
    const { project, tone } = await setUp();
    const { run, records } = await runWith(project.id, [tone.id], ['a', 'b']);
    await submit(records[0].id, tone.id, 5, 'great');
    await submit(records[1].id, tone.id, 3, 'so-so');
    const aggregate = async () => (await queries.getAggregates(run.id))[0];
    expect(await aggregate()).toMatchObject({ count: 2, passed: 1, failed: 0, passRate: 0.5, mean: 4 });
    expect(await queries.getRun(run.id)).toMatchObject({ status: 'COMPLETED', numScores: 2, numHumanScores: 2 });

    // 3 → 5: now passing.
    const corrected = await submit(records[1].id, tone.id, 5, 'better on a second look', 'key-bob');
    expect(corrected).toMatchObject({ value: 5, passed: true, reasoning: 'better on a second look', scoredBy: 'key-bob', source: 'HUMAN' });
    expect(await aggregate()).toMatchObject({ count: 2, passed: 2, passRate: 1, mean: 5 });
    // 5 → 1, and the other one 5 → 4 (still passing).
    await submit(records[1].id, tone.id, 1, 'no, rude');
    await submit(records[0].id, tone.id, 4, 'great');
    expect(await aggregate()).toMatchObject({ count: 2, passed: 1, passRate: 0.5, mean: 2.5 });
    const view = await settled(run.id);
    expect(view).toMatchObject({ status: 'COMPLETED', numRecords: 2, numScores: 2, numHumanScores: 2, numAwaitingHuman: 0 });
    // The run was pushed for every correction (updatedAt moves).
    expect(broadcasts.filter((v) => v.id === run.id).length).toBeGreaterThanOrEqual(6);

    // The same score again is no change at all.
    const again = await submit(records[1].id, tone.id, 1, 'no, rude');
    expect(again).toMatchObject({ value: 1, passed: false });
    const events = await backend.store.readStream(recordStreamId(records[1].id));
    expect(events.map((e) => [e.type, (e.data as { value: number }).value])).toEqual([
      ['ScoreRecorded', 3],
      ['HumanScoreCorrected', 5],
      ['HumanScoreCorrected', 1],
    ]);
    expect(events[0].data).toMatchObject({ source: 'HUMAN', scoredBy: 'key-alice' });
    expect(events[1].data).toMatchObject({ previousValue: 3, previousPassed: false, previousReasoning: 'so-so', passed: true, correctedBy: 'key-bob' });
    expect(events[2].data).toMatchObject({ previousValue: 5, value: 1, correctedBy: 'key-alice' });

    // Projecting the record streams again (a replay) changes nothing.
    const replay = [...events, ...(await backend.store.readStream(recordStreamId(records[0].id)))];
    await backend.db.transaction((tx) => projectRuns(replay, tx));
    expect(await aggregate()).toMatchObject({ count: 2, passed: 1, mean: 2.5 });
    expect(await queries.getRun(run.id)).toMatchObject({ numScores: 2, numHumanScores: 2 });
    expect((await queries.listRecords(run.id, { first: 5 })).items.map((i) => i.node.scores[0].value)).toEqual([4, 1]);
  });

  it('keeps BOOLEAN and FLOAT human scores in their ranges and corrects their aggregates too', async () => {
    const bool = await setUp('BOOLEAN');
    const a = await runWith(bool.project.id, [bool.tone.id], ['x', 'y']);
    await submit(a.records[0].id, bool.tone.id, 1);
    await submit(a.records[1].id, bool.tone.id, 0);
    expect((await queries.getAggregates(a.run.id))[0]).toMatchObject({ count: 2, passed: 1, mean: 0.5 });
    await submit(a.records[1].id, bool.tone.id, 1);
    expect((await queries.getAggregates(a.run.id))[0]).toMatchObject({ count: 2, passed: 2, mean: 1, passRate: 1 });
    expect(await refusal(submit(a.records[0].id, bool.tone.id, 0.5))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('1 (true: passes) or 0') });

    const float = await setUp('FLOAT');
    const b = await runWith(float.project.id, [float.tone.id], ['x']);
    expect(await submit(b.records[0].id, float.tone.id, 0.95)).toMatchObject({ value: 0.95, passed: true });
    await submit(b.records[0].id, float.tone.id, 0.25);
    expect((await queries.getAggregates(b.run.id))[0]).toMatchObject({ count: 1, passed: 0, mean: 0.25 });
    expect(await refusal(submit(b.records[0].id, float.tone.id, 1.5))).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('refuses what it cannot take, and appends nothing', async () => {
    const { project, exact, tone } = await setUp();
    const other = await commands.createMetric({ projectId: project.id, name: 'not in the run', evalType: 'HUMAN', outputType: 'INT' });
    const { run, records } = await runWith(project.id, [exact.id, tone.id], ['Paris']);
    await projections.waitUntilCaughtUp();
    const recordId = records[0].id;

    expect(await refusal(submit(recordId, exact.id, 1))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('HUMAN metrics only') });
    expect(await refusal(submit(recordId, tone.id, 6))).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'value' } });
    expect(await refusal(submit(recordId, tone.id, 3.5))).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await refusal(submit(recordId, other.id, 3))).toMatchObject({ code: 'METRIC_NOT_FOUND' });
    expect(await refusal(submit(recordId, 'no-such-metric', 3))).toMatchObject({ code: 'METRIC_NOT_FOUND' });
    expect(await refusal(submit('no-such-record', tone.id, 3))).toMatchObject({ code: 'RECORD_NOT_FOUND' });
    expect(await backend.store.readStream(recordStreamId(recordId))).toEqual([]);

    // The caller's check sees the record's project, or null for a missing record, before anything changes.
    const seen: (string | null)[] = [];
    const deny = (projectId: string | null) => {
      seen.push(projectId);
      throw new AssayError('RECORD_NOT_FOUND', 'not yours');
    };
    expect(await refusal(review.submitScore({ recordId, metricId: tone.id, value: 3 }, { scoredBy: 'k', authorize: deny }))).toMatchObject({ message: 'not yours' });
    expect(await refusal(review.submitScore({ recordId: 'nope', metricId: tone.id, value: 3 }, { scoredBy: 'k', authorize: deny }))).toMatchObject({ message: 'not yours' });
    expect(seen).toEqual([project.id, null]);
    expect(await backend.store.readStream(recordStreamId(recordId))).toEqual([]);
    expect(await settled(run.id)).toMatchObject({ numScores: 0, numHumanScores: 0, numAwaitingHuman: 1 });
  });

  it('pages the records waiting for a HUMAN metric, oldest first across runs, and empties as scores arrive', async () => {
    const { project, exact, tone } = await setUp();
    const first = await runWith(project.id, [exact.id, tone.id], ['a1', 'a2', 'a3']);
    const second = await runWith(project.id, [tone.id], ['b1', 'b2']);
    // A run without the metric, and another project's run with a HUMAN metric of its own.
    await runWith(project.id, [exact.id], ['c1']);
    const elsewhere = await setUp();
    const foreign = await runWith(elsewhere.project.id, [elsewhere.tone.id], ['z1']);
    await projections.waitUntilCaughtUp();

    const answers = (page: { items: readonly { node: { outputs: unknown } }[] }) => page.items.map((i) => (i.node.outputs as { answer: string }).answer);
    const p1 = await review.reviewQueue(project.id, tone.id, { first: 2 });
    expect(answers(p1)).toEqual(['a1', 'a2']);
    expect(p1).toMatchObject({ hasNextPage: true, totalCount: 5 });
    expect(p1.items[0].node).toMatchObject({ runId: first.run.id, testcaseId: 't0', inputs: { q: 0 }, expected: { answer: 'Paris' }, scores: [] });
    const p2 = await review.reviewQueue(project.id, tone.id, { first: 2, after: p1.endCursor });
    expect(answers(p2)).toEqual(['a3', 'b1']);
    const p3 = await review.reviewQueue(project.id, tone.id, { first: 2, after: p2.endCursor });
    expect(answers(p3)).toEqual(['b2']);
    expect(p3.hasNextPage).toBe(false);

    // Existing scores come along (the worker's, here), so the person sees them.
    await scoreAutomatically(first.run.id, [first.records[0].id], first.metrics[0], 0);
    await projections.waitUntilCaughtUp();
    expect((await review.reviewQueue(project.id, tone.id, { first: 1 })).items[0].node.scores).toEqual([
      expect.objectContaining({ metricId: exact.id, value: 0, source: 'AUTOMATIC' }),
    ]);

    // Scores leave the queue as soon as submitScore returns; a cursor still works once its record left.
    await submit(first.records[0].id, tone.id, 4);
    await submit(first.records[2].id, tone.id, 4);
    const after = await review.reviewQueue(project.id, tone.id, { first: 10 });
    expect(answers(after)).toEqual(['a2', 'b1', 'b2']);
    expect(after.totalCount).toBe(3);
    expect(answers(await review.reviewQueue(project.id, tone.id, { first: 10, after: p1.endCursor }))).toEqual(['b1', 'b2']);
    // A correction does not bring a record back.
    await submit(first.records[0].id, tone.id, 2);
    for (const record of [first.records[1], ...second.records]) await submit(record.id, tone.id, 5);
    expect(await review.reviewQueue(project.id, tone.id, {})).toMatchObject({ items: [], hasNextPage: false, endCursor: null, totalCount: 0 });

    // Records added later join the end of the queue.
    await commands.addRecords(second.run.id, [{ outputs: { answer: 'b3' } }]);
    await projections.waitUntilCaughtUp();
    expect(answers(await review.reviewQueue(project.id, tone.id, {}))).toEqual(['b3']);

    // Another project's metric, or this project's metric asked for in another project: nothing.
    expect((await review.reviewQueue(project.id, elsewhere.tone.id, {})).items).toEqual([]);
    expect((await review.reviewQueue(elsewhere.project.id, tone.id, {})).items).toEqual([]);
    expect(answers(await review.reviewQueue(elsewhere.project.id, elsewhere.tone.id, {}))).toEqual(['z1']);
    expect(foreign.records).toHaveLength(1);
    expect(await refusal(review.reviewQueue(project.id, tone.id, { after: 'garbage!' }))).toMatchObject({ code: 'BAD_USER_INPUT' });
    for (const parts of [[], ['x'], [1.5], [-5], ['2025-01-01T00:00:00.000Z', 'run_x']]) {
      expect(await refusal(review.reviewQueue(project.id, tone.id, { after: Buffer.from(JSON.stringify(parts)).toString('base64url') }))).toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    }
    expect(await refusal(review.reviewQueue(project.id, tone.id, { first: 1001 }))).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('never lets an automatic outcome replace a human score, at the pinned version, a newer one or a later round', async () => {
    // recordOutcomes: the path every automatic outcome takes (workers, the judge, re-scoring rounds).
    const { project, exact, tone } = await setUp();
    const { run, metrics, records } = await runWith(project.id, [exact.id, tone.id], ['Paris', 'Lyon']);
    await scoreAutomatically(run.id, records.map((r) => r.id), metrics[0]);
    await submit(records[0].id, tone.id, 5, 'a person says so');
    const before = await settled(run.id);
    const aggregatesBefore = await queries.getAggregates(run.id);

    const humanMetric = metrics[1];
    const appended = await commands.recordOutcomes([
      // a judge re-scoring the human metric at its pinned version, and at a newer one
      { kind: 'score', runId: run.id, recordId: records[0].id, metric: { ...humanMetric, evalType: 'AI' }, value: 1, reasoning: 'judge' },
      { kind: 'score', runId: run.id, recordId: records[0].id, metric: { ...humanMetric, version: 2 }, value: 1, reasoning: 'judge' },
      { kind: 'failure', runId: run.id, recordId: records[0].id, metric: { ...humanMetric, version: 3 }, code: 'LLM_UNAVAILABLE', reason: 'down', attempts: 5 },
      { kind: 'score', runId: run.id, recordId: records[0].id, metric: { ...humanMetric, evalType: 'AI' }, value: 1, reasoning: 'judge', round: 1 },
      // the record a person has not scored yet: still a person's to score
      { kind: 'score', runId: run.id, recordId: records[1].id, metric: humanMetric, value: 1, reasoning: 'judge' },
    ]);
    expect(appended).toBe(0);
    const after = await settled(run.id);
    expect(after).toMatchObject({ status: before.status, numScores: before.numScores, numFailures: 0, numHumanScores: 1, numAwaitingHuman: 1 });
    expect(await queries.getAggregates(run.id)).toEqual(aggregatesBefore);
    const [scored] = (await queries.listRecords(run.id, { first: 1 })).items;
    expect(scored.node.scores.find((s) => s.metricId === tone.id)).toMatchObject({ value: 5, reasoning: 'a person says so', source: 'HUMAN' });
    expect(await backend.store.readStream(recordStreamId(records[0].id))).toHaveLength(2);
  });

  it('rescoreRun re-scores the automatic metrics and leaves human scores, corrections and the queue as they are', async () => {
    const { project, exact, tone } = await setUp();
    const { run, metrics, records } = await runWith(project.id, [exact.id, tone.id], ['Paris', 'Lyon', 'Nice']);
    const [a, b, c] = records.map((r) => r.id);
    await scoreAutomatically(run.id, [a, b, c], metrics[0], 1);
    await submit(a, tone.id, 5, 'kind');
    await submit(b, tone.id, 2, 'curt');
    await submit(b, tone.id, 3, 'curt, but right', 'key-bob');
    const before = await settled(run.id);
    expect(before).toMatchObject({ status: 'SCORING', phase: 'AWAITING_HUMAN', numScores: 5, numHumanScores: 2, numAwaitingHuman: 1 });
    const humanAggregate = async () => (await queries.getAggregates(run.id)).find((x) => x.metricId === tone.id);
    expect(await humanAggregate()).toMatchObject({ count: 2, passed: 1, mean: 4 });

    // Naming only the HUMAN metric is refused; naming it with others skips it; by default it is left out.
    await expect(commands.rescoreRun({ runId: run.id, metricIds: [tone.id] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await commands.updateMetric({ metricId: exact.id, name: 'exact v2' });
    await commands.updateMetric({ metricId: tone.id, guidelines: '5: kind, clear and short' });
    const rescored = await commands.rescoreRun({ runId: run.id, metricIds: [exact.id, tone.id] });
    // The HUMAN metric keeps the version the run pinned (people scored against it); the automatic one moves on.
    expect(rescored.metrics.map((m) => [m.id, m.version])).toEqual([
      [exact.id, 2],
      [tone.id, 1],
    ]);
    expect(rescored).toMatchObject({ status: 'SCORING', phase: 'SCORING', numHumanScores: 2, numAwaitingHuman: 1 });
    const requests = (await backend.store.readStream(`run-${run.id}`)).filter((e) => e.type === 'RecordRescoreRequested');
    expect(requests.map((e) => (e.data as { metricIds: string[] }).metricIds)).toEqual([[exact.id], [exact.id], [exact.id]]);

    // The workers' new round, plus a stray automatic outcome for the HUMAN metric in that round.
    const pinned = await commands.metricsOfRun(run.id);
    const exactV2 = pinned.find((m) => m.metricId === exact.id)!;
    const round = (exactV2 as { round?: number }).round ?? 1;
    await commands.recordOutcomes([
      ...[a, b, c].map((recordId) => ({ kind: 'score', runId: run.id, recordId, metric: exactV2, value: 0, reasoning: 'v2', round }) as const),
      { kind: 'score', runId: run.id, recordId: a, metric: pinned.find((m) => m.metricId === tone.id)!, value: 1, reasoning: 'judge', round },
    ]);
    const after = await settled(run.id);
    expect(after).toMatchObject({ status: 'SCORING', phase: 'AWAITING_HUMAN', numScores: 5, numHumanScores: 2, numAwaitingHuman: 1 });
    expect(await humanAggregate()).toMatchObject({ count: 2, passed: 1, mean: 4 });
    const scores = (await queries.listRecords(run.id, { first: 3 })).items.map((i) => i.node.scores.find((s) => s.metricId === tone.id) ?? null);
    expect(scores).toEqual([
      expect.objectContaining({ value: 5, reasoning: 'kind', source: 'HUMAN', scoredBy: 'key-alice', metricVersion: 1 }),
      expect.objectContaining({ value: 3, reasoning: 'curt, but right', source: 'HUMAN', scoredBy: 'key-bob', metricVersion: 1 }),
      null,
    ]);
    expect((await review.reviewQueue(project.id, tone.id, {})).items.map((i) => i.node.id)).toEqual([c]);

    // The last person completes the run, re-scored as it is; a correction afterwards keeps it complete.
    await submit(c, tone.id, 4);
    expect(await settled(run.id)).toMatchObject({ status: 'COMPLETED', phase: 'DONE', numScores: 6, numHumanScores: 3, numAwaitingHuman: 0 });
    await submit(a, tone.id, 1, 'on reflection, no');
    expect(await settled(run.id)).toMatchObject({ status: 'COMPLETED', numScores: 6, numHumanScores: 3 });
    expect(await humanAggregate()).toMatchObject({ count: 3, passed: 1, mean: 8 / 3 });
  });
});
