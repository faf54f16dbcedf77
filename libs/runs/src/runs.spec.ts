import { runStreamId } from '@assay/domain';
import { MetricSnapshot } from '@assay/contracts';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { connectRunsBackend, RunsBackend } from './runs-backend';
import { RunView } from './types';
import { RunCommands } from './commands/run-commands';
import { startRunProjections } from './read-models/run-projections';
import { republishUnscoredRecords } from './reconcile/unscored-records';
import type { LogProcessor } from '@assay/event-store';

/**
 * The runs library against a real PostgreSQL: commands append events, the projector folds them
 * into read models, and the run status follows the records and scores as users see it.
 */
describe('runs: commands and read models', () => {
  let database: TestDatabase;
  let backend: RunsBackend;
  let projections: LogProcessor;
  const broadcasts: RunView[] = [];

  const startProjections = () =>
    startRunProjections({
      db: backend.db,
      store: backend.store,
      bus: { broadcast: (_topic, view) => broadcasts.push(view as RunView) },
      pollIntervalMs: 50,
    });

  beforeAll(async () => {
    database = await createTestDatabase('assay_runs');
    backend = await connectRunsBackend({ url: database.url, applicationName: 'runs-spec' });
    projections = startProjections();
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
    const run = await backend.commands.createRun({ projectId: project.id, metricIds: [exact.id, similar.id], notes: 'baseline' });
    const metrics = await backend.commands.metricsOfRun(run.id);
    return { project, run, metrics };
  }

  const score = (runId: string, recordId: string, metric: MetricSnapshot, value: number) =>
    ({ kind: 'score', runId, recordId, metric, value, reasoning: `value ${value}` }) as const;

  async function settled(runId: string): Promise<RunView> {
    await projections.waitUntilCaughtUp();
    return (await backend.queries.getRun(runId))!;
  }

  it('a new run is PENDING and visible at once, with its pinned metrics', async () => {
    const { run } = await setUp();
    expect(run).toMatchObject({ status: 'PENDING', numRecords: 0, numScores: 0, notes: 'baseline' });
    expect(run.metrics.map((m) => [m.name, m.version])).toEqual([['exact', 1], ['similar', 1]]);
  });

  it('moves PENDING → SCORING → COMPLETED, and back to SCORING when records are added', async () => {
    const { run, metrics } = await setUp();
    const [first, second] = await backend.commands.addRecords(run.id, [
      { testcaseId: 't1', inputs: { q: 1 }, outputs: { answer: 'Paris' }, expected: { answer: 'Paris' } },
      { testcaseId: 't2', inputs: { q: 2 }, outputs: { answer: 'Lyon' }, expected: { answer: 'Paris' } },
    ]);
    expect(await settled(run.id)).toMatchObject({ status: 'SCORING', numRecords: 2, numScores: 0 });

    await backend.commands.recordOutcomes([
      score(run.id, first.id, metrics[0], 1),
      score(run.id, first.id, metrics[1], 1),
      score(run.id, second.id, metrics[0], 0),
    ]);
    expect(await settled(run.id)).toMatchObject({ status: 'SCORING', numScores: 3 });

    await backend.commands.recordOutcomes([score(run.id, second.id, metrics[1], 0.25)]);
    expect(await settled(run.id)).toMatchObject({ status: 'COMPLETED', numScores: 4 });

    await backend.commands.addRecords(run.id, [{ outputs: 'x', expected: 'y' }]);
    expect(await settled(run.id)).toMatchObject({ status: 'SCORING', numRecords: 3 });
  });

  it('a run read right after addRecords is SCORING, never the COMPLETED from before, even while the projector is behind', async () => {
    // A client that adds its last batch and then polls for COMPLETED must not see the status from before it.
    const completed = async () => {
      const { project, run, metrics } = await setUp();
      const [only] = await backend.commands.addRecords(run.id, [{}]);
      await backend.commands.recordOutcomes(metrics.map((metric) => score(run.id, only.id, metric, 1)));
      expect(await settled(run.id)).toMatchObject({ status: 'COMPLETED' });
      return { project, run };
    };
    const { project, run } = await completed();
    const notesOnly = await completed();

    await projections.stop(); // the projector far behind
    try {
      await backend.commands.addRecords(run.id, Array.from({ length: 200 }, () => ({})));
      const notes = { type: 'RunNotesUpdated', data: { runId: notesOnly.run.id, notes: 'notes change no status' } };
      await backend.store.append([{ streamId: runStreamId(notesOnly.run.id), expectedVersion: 'any', events: [notes] }]);
      expect(await backend.queries.getRun(notesOnly.run.id)).toMatchObject({ status: 'COMPLETED', phase: 'DONE' });
      expect(await backend.queries.getRun(run.id)).toMatchObject({ status: 'SCORING', phase: 'SCORING', numRecords: 1 });
      expect((await backend.queries.getRuns([run.id]))[0]).toMatchObject({ status: 'SCORING' });
      expect((await backend.queries.listRuns(project.id, {})).items.find((i) => i.node.id === run.id)?.node).toMatchObject({ status: 'SCORING' });
    } finally {
      projections = startProjections();
    }
    expect(await settled(run.id)).toMatchObject({ status: 'SCORING', numRecords: 201 });
  });

  it('aggregates pass rate and mean per metric', async () => {
    const { run, metrics } = await setUp();
    const records = await backend.commands.addRecords(run.id, [{}, {}, {}, {}]);
    await backend.commands.recordOutcomes(
      records.flatMap((record, i) => [score(run.id, record.id, metrics[0], i % 2), score(run.id, record.id, metrics[1], [0.2, 0.4, 0.6, 1][i])]),
    );
    await settled(run.id);
    const aggregates = await backend.queries.getAggregates(run.id);
    expect(aggregates).toEqual([
      { metricId: metrics[0].metricId, count: 4, passed: 2, failed: 0, passRate: 0.5, mean: 0.5 },
      { metricId: metrics[1].metricId, count: 4, passed: 2, failed: 0, passRate: 0.5, mean: expect.closeTo(0.55, 10) },
    ]);
  });

  it('a redelivered score is recorded once: no double count, the first value stands', async () => {
    const { run, metrics } = await setUp();
    const [record] = await backend.commands.addRecords(run.id, [{}]);
    await backend.commands.recordOutcomes([score(run.id, record.id, metrics[0], 1)]);
    await backend.commands.recordOutcomes([score(run.id, record.id, metrics[0], 0), score(run.id, record.id, metrics[0], 0)]);
    await settled(run.id);
    const page = await backend.queries.listRecords(run.id, {});
    expect(page.items[0].node.scores).toEqual([
      expect.objectContaining({ metricId: metrics[0].metricId, metricVersion: 1, value: 1, passed: true, reasoning: 'value 1', error: null, source: 'AUTOMATIC', scoredBy: null }),
    ]);
    expect((await backend.queries.getRun(run.id))!.numScores).toBe(1);
  });

  it('a scoring failure puts the run in ERROR, with the reason on the record', async () => {
    const { run, metrics } = await setUp();
    const [record] = await backend.commands.addRecords(run.id, [{}]);
    await backend.commands.recordOutcomes([
      { kind: 'failure', runId: run.id, recordId: record.id, metric: metrics[0], code: 'METRIC_CONFIG_INVALID', reason: 'bad regex', attempts: 1 },
      score(run.id, record.id, metrics[1], 1),
    ]);
    expect(await settled(run.id)).toMatchObject({ status: 'ERROR', numFailures: 1, numScores: 1 });
    const [node] = (await backend.queries.listRecords(run.id, {})).items.map((i) => i.node);
    expect(node.scores.find((s) => s.metricId === metrics[0].metricId)?.error).toEqual({ code: 'METRIC_CONFIG_INVALID', reason: 'bad regex' });
  });

  it('concurrent addRecords calls on one run all land (conflicts are retried)', async () => {
    const { run } = await setUp();
    await Promise.all(Array.from({ length: 8 }, (_, i) => backend.commands.addRecords(run.id, [{ inputs: i }, { inputs: i }])));
    expect(await settled(run.id)).toMatchObject({ numRecords: 16 });
  });

  it('two gateways adding to one run at once: version conflicts are retried, every record lands once', async () => {
    const { run } = await setUp();
    const otherGateway = new RunCommands(backend.store, backend.queries);
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? otherGateway : backend.commands).addRecords(run.id, [{ inputs: i }, { inputs: i }, { inputs: i }])),
    );
    expect(await settled(run.id)).toMatchObject({ numRecords: 18 });
  });

  it("another process's first command on a long run reads the run's state, not its records", async () => {
    const { run, metrics } = await setUp();
    for (let i = 0; i < 3; i++) await backend.commands.addRecords(run.id, Array.from({ length: 1000 }, (_, j) => ({ inputs: { q: `${i}-${j}` } })));
    // A gateway or scoring process that has not seen this run yet, counting the events it loads.
    let eventsLoaded = 0;
    const counted = new Proxy(backend.store, {
      get(store, property, receiver) {
        const value = Reflect.get(store, property, receiver);
        if (property !== 'loadStream' && property !== 'readStream') return typeof value === 'function' ? value.bind(store) : value;
        return async (...args: unknown[]) => {
          const loaded = await value.apply(store, args);
          eventsLoaded += Array.isArray(loaded) ? loaded.length : loaded.events.length;
          return loaded;
        };
      },
    });
    const otherProcess = new RunCommands(counted, backend.queries);
    expect(await otherProcess.metricsOfRun(run.id)).toEqual(metrics);
    await otherProcess.addRecords(run.id, [{ inputs: { q: 'one more' } }]);
    expect((await otherProcess.updateRunNotes(run.id, 'after 3,001 records')).notes).toBe('after 3,001 records');
    expect(eventsLoaded).toBeLessThanOrEqual(2); // RunCreated, then its own notes: never the 3,000 RecordAdded
    expect(await settled(run.id)).toMatchObject({ numRecords: 3001, notes: 'after 3,001 records' });
  });

  it('refuses unknown and foreign ids with stable codes, changing nothing', async () => {
    const { run } = await setUp();
    const other = await setUp();
    await expect(backend.commands.addRecords('no-such-run', [{}])).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    await expect(
      backend.commands.createRun({ projectId: run.projectId, metricIds: [other.metrics[0].metricId] }),
    ).rejects.toMatchObject({
      code: 'METRIC_NOT_FOUND',
      message: expect.stringMatching(/check the metric id \(createMetric returns it\)/),
      details: { metricId: other.metrics[0].metricId, projectId: run.projectId },
    });
    await expect(backend.commands.addRecords(run.id, Array.from({ length: 1001 }, () => ({})))).rejects.toMatchObject({ code: 'TOO_MANY_RECORDS' });
    // One record too large for a bus message refuses the whole call.
    await expect(backend.commands.addRecords(run.id, [{ outputs: 'small' }, { outputs: 'x'.repeat(1024 * 1024) }])).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    expect(await settled(run.id)).toMatchObject({ numRecords: 0 });
  });

  it('updates notes with read-your-writes, and pages records and runs', async () => {
    const { project, run } = await setUp();
    expect(await backend.commands.updateRunNotes(run.id, 'after prompt v2')).toMatchObject({ notes: 'after prompt v2' });
    await backend.commands.addRecords(run.id, Array.from({ length: 5 }, (_, i) => ({ testcaseId: `t${i}` })));
    await settled(run.id);
    const first = await backend.queries.listRecords(run.id, { first: 3 });
    const rest = await backend.queries.listRecords(run.id, { first: 3, after: first.endCursor });
    expect([...first.items, ...rest.items].map((i) => i.node.testcaseId)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect([first.hasNextPage, rest.hasNextPage]).toEqual([true, false]);

    const second = await backend.commands.createRun({ projectId: project.id, metricIds: run.metrics.map((m) => m.id) });
    const runs = await backend.queries.listRuns(project.id, { first: 1 });
    expect(runs.items.map((i) => i.node.id)).toEqual([second.id]);
    const older = await backend.queries.listRuns(project.id, { first: 1, after: runs.endCursor });
    expect(older.items.map((i) => i.node.id)).toEqual([run.id]);
  });

  it('refuses a cursor that decodes but is not one of the list it is passed to with BAD_USER_INPUT', async () => {
    const { project, run } = await setUp();
    await backend.commands.addRecords(run.id, [{ testcaseId: 't0' }, { testcaseId: 't1' }]);
    await settled(run.id);
    await backend.commands.createRun({ projectId: project.id, metricIds: run.metrics.map((m) => m.id) });
    const cursor = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    const runsCursor = (await backend.queries.listRuns(project.id, { first: 1 })).endCursor!;
    const recordsCursor = (await backend.queries.listRecords(run.id, { first: 1 })).endCursor!;
    const refusal = (page: Promise<unknown>) => page.then(() => 'accepted', (error) => ({ code: error.code, message: error.message }));
    const refused = { code: 'BAD_USER_INPUT', message: expect.stringContaining('pass an endCursor from a previous page of the same list') };

    for (const after of [cursor([]), cursor(['x']), cursor([1.5]), cursor([1e30]), cursor([-5]), cursor([1, 2]), cursor([{}]), runsCursor]) {
      expect(await refusal(backend.queries.listRecords(run.id, { after }))).toEqual(refused);
    }
    for (const after of [cursor([]), cursor(['x', 'y']), cursor([-5]), cursor(['2025-01-01T00:00:00.000Z']), cursor(['2025-13-01T00:00:00.000Z', 'run_x']), recordsCursor]) {
      expect(await refusal(backend.queries.listRuns(project.id, { after }))).toEqual(refused);
    }
    // The cursors each list hands out still work.
    expect((await backend.queries.listRecords(run.id, { after: recordsCursor })).items.map((i) => i.node.testcaseId)).toEqual(['t1']);
    expect((await backend.queries.listRuns(project.id, { after: runsCursor })).items.map((i) => i.node.id)).toEqual([run.id]);
  });

  it('addRecords with an idempotency key: a retried call (even from another gateway, even at once) adds nothing twice', async () => {
    const { run } = await setUp();
    const records = [{ testcaseId: 't1' }, { testcaseId: 't2' }];
    const first = await backend.commands.addRecords(run.id, records, { idempotencyKey: 'ci-job-42/batch-1' });
    const retried = await backend.commands.addRecords(run.id, records, { idempotencyKey: 'ci-job-42/batch-1' });
    expect(retried.map((r) => r.id)).toEqual(first.map((r) => r.id));

    const otherGateway = new RunCommands(backend.store, backend.queries);
    const racing = await Promise.all([
      backend.commands.addRecords(run.id, records, { idempotencyKey: 'ci-job-42/batch-2' }),
      otherGateway.addRecords(run.id, records, { idempotencyKey: 'ci-job-42/batch-2' }),
    ]);
    expect(racing[0].map((r) => r.id)).toEqual(racing[1].map((r) => r.id));
    // Without a key, the same records are new records.
    await backend.commands.addRecords(run.id, records);
    expect(await settled(run.id)).toMatchObject({ numRecords: 6 });
  });

  it.each([
    ['more records', [{ testcaseId: 't1' }, { testcaseId: 't2' }, { testcaseId: 't3' }], 2],
    ['fewer records', [{ testcaseId: 't1' }], 1],
    ['other records', [{ testcaseId: 'x', outputs: { answer: 'different' } }], 0],
    ['the same testcase with another output', [{ testcaseId: 't1' }, { testcaseId: 't2', outputs: 'changed' }], 1],
  ])('addRecords refuses a reused idempotency key with %s (it answered with ids of records never added)', async (_name, records, index) => {
    const { run } = await setUp();
    await backend.commands.addRecords(run.id, [{ testcaseId: 't1' }, { testcaseId: 't2' }], { idempotencyKey: 'nightly/1' });
    await expect(backend.commands.addRecords(run.id, records, { idempotencyKey: 'nightly/1' })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: expect.stringMatching(/was used before for other records .*records\[\d\].*use a new key for new records/),
      details: { idempotencyKey: 'nightly/1', index },
    });
    expect(await settled(run.id)).toMatchObject({ numRecords: 2 });
  });

  it('finds records still lacking a score and publishes their RecordAdded again', async () => {
    const { run, metrics } = await setUp();
    const [scored, halfScored, unscored] = await backend.commands.addRecords(run.id, [{}, {}, {}]);
    await backend.commands.recordOutcomes([
      score(run.id, scored.id, metrics[0], 1),
      score(run.id, scored.id, metrics[1], 1),
      score(run.id, halfScored.id, metrics[0], 1),
    ]);
    await settled(run.id);
    const published: string[] = [];
    const bus = { publish: async (events: readonly { type: string; data: unknown }[]) => void published.push(...events.map((e) => `${e.type}:${(e.data as { recordId: string }).recordId}`)) };
    const sweep = () => republishUnscoredRecords({ sql: backend.db, store: backend.store, bus, olderThanMs: 0, limit: 10_000 });

    await sweep();
    expect(published).toEqual(expect.arrayContaining([`RecordAdded:${halfScored.id}`, `RecordAdded:${unscored.id}`]));
    expect(published).not.toContain(`RecordAdded:${scored.id}`);

    // Young records are left to the normal path.
    published.length = 0;
    await republishUnscoredRecords({ sql: backend.db, store: backend.store, bus, olderThanMs: 60_000 });
    expect(published.filter((p) => p.endsWith(unscored.id))).toEqual([]);
  });

  it('finds unscored records in a run already in ERROR, and leaves alone an ERROR run with every outcome in', async () => {
    // One record failed for good (ERROR); another's message was lost: it must still be scored.
    const { run, metrics } = await setUp();
    const [failed, lost] = await backend.commands.addRecords(run.id, [{}, {}]);
    await backend.commands.recordOutcomes([
      { kind: 'failure', runId: run.id, recordId: failed.id, metric: metrics[0], code: 'CODE_ERROR', reason: 'threw', attempts: 1 },
      score(run.id, failed.id, metrics[1], 1),
    ]);
    const finished = await setUp();
    const [done] = await backend.commands.addRecords(finished.run.id, [{}]);
    await backend.commands.recordOutcomes([
      { kind: 'failure', runId: finished.run.id, recordId: done.id, metric: finished.metrics[0], code: 'CODE_ERROR', reason: 'threw', attempts: 1 },
      score(finished.run.id, done.id, finished.metrics[1], 1),
    ]);
    expect(await settled(run.id)).toMatchObject({ status: 'ERROR' });
    expect(await settled(finished.run.id)).toMatchObject({ status: 'ERROR' });
    const published: string[] = [];
    const bus = { publish: async (events: readonly { data: unknown }[]) => void published.push(...events.map((e) => (e.data as { recordId: string }).recordId)) };

    await republishUnscoredRecords({ sql: backend.db, store: backend.store, bus, olderThanMs: 0, limit: 10_000 });
    expect(published).toContain(lost.id);
    expect(published).not.toContain(failed.id);
    expect(published).not.toContain(done.id);
  });

  it('broadcasts each changed run after its batch commits', async () => {
    const { run } = await setUp();
    await backend.commands.addRecords(run.id, [{}]);
    await settled(run.id);
    expect(broadcasts.filter((view) => view.id === run.id).map((view) => view.numRecords)).toContain(1);
  });
});
