import type { Delivery } from '@assay/bus';
import { isAssayError } from '@assay/contracts';
import { metricStreamId, runStreamId } from '@assay/domain';
import type { LogProcessor, StoredEvent } from '@assay/event-store';
import { CodeSandbox, createScoringHandler } from '@assay/scoring';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { RunCommands } from './commands/run-commands';
import { startRunProjections } from './read-models/run-projections';
import { connectRunsBackend, RunsBackend } from './runs-backend';

/**
 * Metrics against a real PostgreSQL: versions through the commands and the read models, bad input
 * refused without a trace, and runs scored with the versions they pinned however the metric changes.
 */
describe('runs: metrics and their versions', () => {
  let database: TestDatabase;
  let backend: RunsBackend;
  let commands: RunCommands;
  let projections: LogProcessor;
  let sandbox: CodeSandbox;

  beforeAll(async () => {
    database = await createTestDatabase('assay_metrics');
    backend = await connectRunsBackend({ url: database.url, applicationName: 'metrics-spec' });
    sandbox = await CodeSandbox.create({ timeLimitMs: 1_000 });
    commands = new RunCommands(backend.store, backend.queries, { checkCode: async (source) => void (await sandbox.compile(source)) });
    projections = startRunProjections({ db: backend.db, store: backend.store, bus: { broadcast: () => undefined }, pollIntervalMs: 50 });
  });

  afterAll(async () => {
    await projections.stop();
    await sandbox.close();
    await backend.close();
    await database.drop();
  });

  const settled = () => projections.waitUntilCaughtUp();
  const judgePrompt = 'Question: {{ inputs.question }}\nAnswer: {{ outputs.answer }}\n{{ guidelines }}\nReply as JSON {"score": 1-5, "reasoning": "..."}';
  const lengthCode = (min: number) => `function score({ outputs }) {
  const n = String(outputs.answer).length;
  return { score: n >= ${min}, reasoning: n + ' characters, at least ${min} wanted' };
}`;

  async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isAssayError(error)) throw error ?? new Error('accepted');
    return error;
  }

  it('creates AI, HUMAN and CODE metrics and lists them with their whole definition', async () => {
    const project = await commands.createProject({ name: 'metrics' });
    const judge = await commands.createMetric({
      projectId: project.id,
      name: 'helpfulness',
      evalType: 'AI',
      outputType: 'INT',
      promptTemplate: judgePrompt,
      evalModelName: 'gpt-4o-mini',
      temperature: 0,
      guidelines: '5: fully answers',
      description: 'How helpful the answer is',
    });
    const human = await commands.createMetric({ projectId: project.id, name: 'tone', evalType: 'HUMAN', outputType: 'FLOAT', guidelines: 'Friendly?' });
    const code = await commands.createMetric({ projectId: project.id, name: 'long enough', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'CODE', code: lengthCode(3) } });
    expect(judge).toMatchObject({ version: 1, passingThreshold: 4, promptTemplate: judgePrompt, evalModelName: 'gpt-4o-mini', temperature: 0, heuristic: null });
    expect(human).toMatchObject({ version: 1, passingThreshold: 0.9, guidelines: 'Friendly?', promptTemplate: null });
    await settled();
    const listed = await backend.queries.listMetrics(project.id);
    expect(listed.map((m) => m.name)).toEqual(['helpfulness', 'long enough', 'tone']);
    expect(listed[0]).toEqual({ ...judge, createdAt: expect.any(Date), updatedAt: expect.any(Date) });
    expect(await backend.queries.getMetric(code.id)).toMatchObject({ heuristic: { kind: 'CODE', code: lengthCode(3) }, outputType: 'BOOLEAN' });
  });

  it('each change is a new version with the whole definition; the same definition again is none', async () => {
    const project = await commands.createProject({ name: 'versions' });
    const metric = await commands.createMetric({ projectId: project.id, name: 'judge', evalType: 'AI', outputType: 'FLOAT', promptTemplate: judgePrompt });
    const v2 = await commands.updateMetric({ metricId: metric.id, guidelines: 'Be strict.', passingThreshold: 0.7 });
    const v3 = await commands.updateMetric({ metricId: metric.id, promptTemplate: `${judgePrompt}\n{% if expected %}Reference: {{ expected | dump }}{% endif %}` });
    const same = await commands.updateMetric({ metricId: metric.id, guidelines: 'Be strict.' });
    expect([v2.version, v3.version, same.version]).toEqual([2, 3, 3]);
    expect(v3).toMatchObject({ guidelines: 'Be strict.', passingThreshold: 0.7, evalType: 'AI', outputType: 'FLOAT' });
    expect(await backend.store.readStream(metricStreamId(metric.id))).toHaveLength(3);
    await settled();
    expect(await backend.queries.getMetric(metric.id)).toMatchObject({ version: 3, guidelines: 'Be strict.', passingThreshold: 0.7 });
    const versions = await backend.queries.listMetricVersions(metric.id);
    expect(versions.map((v) => [v.version, v.guidelines, v.passingThreshold])).toEqual([
      [1, '', 0.9],
      [2, 'Be strict.', 0.7],
      [3, 'Be strict.', 0.7],
    ]);
    expect(versions[0]).toEqual(expect.objectContaining({ metricId: metric.id, promptTemplate: judgePrompt, createdAt: expect.any(Date) }));
  });

  it('refuses bad input with a clear code, and changes nothing', async () => {
    const project = await commands.createProject({ name: 'bad input' });
    const other = await commands.createProject({ name: 'other' });
    const metric = await commands.createMetric({ projectId: project.id, name: 'judge', evalType: 'AI', outputType: 'INT', promptTemplate: judgePrompt });
    const code = await commands.createMetric({ projectId: project.id, name: 'code', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'CODE', code: lengthCode(1) } });
    const eventsBefore = async () => (await backend.store.readStream(metricStreamId(metric.id))).length + (await backend.store.readStream(metricStreamId(code.id))).length;
    const before = await eventsBefore();
    await settled();
    const metricsBefore = await backend.queries.listMetrics(project.id);

    expect(await refusal(commands.updateMetric({ metricId: metric.id, promptTemplate: 'Q: {{ inputs.q }}\nA: {{ outputs.a }' }))).toMatchObject({
      code: 'TEMPLATE_INVALID',
      message: 'promptTemplate does not parse: expected variable end (line 2, column 17).',
      details: { field: 'promptTemplate', line: 2, column: 17 },
    });
    expect(
      await refusal(commands.createMetric({ projectId: project.id, name: 'typo', evalType: 'AI', outputType: 'INT', promptTemplate: '{% for x in inputs %}{{ x }}' })),
    ).toMatchObject({ code: 'TEMPLATE_INVALID', details: { line: 1, column: 29 } });
    expect(await refusal(commands.updateMetric({ metricId: code.id, heuristic: { kind: 'CODE', code: 'function score({ outputs }) {\n  return { score: outputs.a ==== 1 }\n}' } }))).toMatchObject({
      code: 'CODE_INVALID',
      details: { field: 'heuristic.code', line: 2, column: expect.any(Number) },
      message: expect.stringMatching(/^The code does not compile: SyntaxError: .*\(line 2, column \d+\)\.$/),
    });
    expect(
      await refusal(commands.createMetric({ projectId: project.id, name: 'no score', evalType: 'HEURISTIC', outputType: 'FLOAT', heuristic: { kind: 'CODE', code: 'function scorer() {}' } })),
    ).toMatchObject({ code: 'CODE_INVALID' });
    expect(await refusal(commands.updateMetric({ metricId: metric.id, passingThreshold: 7 }))).toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'passingThreshold', min: 1, max: 5 },
    });
    expect(await refusal(commands.createMetric({ projectId: project.id, name: 'f', evalType: 'HUMAN', outputType: 'FLOAT', passingThreshold: -0.1 }))).toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    expect(await refusal(commands.updateMetric({ metricId: 'no-such-metric', name: 'x' }))).toMatchObject({ code: 'METRIC_NOT_FOUND' });
    // A metric of another project is refused in a run exactly like a missing one.
    const foreign = await refusal(commands.createRun({ projectId: other.id, metricIds: [metric.id] }));
    const missing = await refusal(commands.createRun({ projectId: other.id, metricIds: ['no-such-metric'] }));
    expect([foreign.code, missing.code]).toEqual(['METRIC_NOT_FOUND', 'METRIC_NOT_FOUND']);

    expect(await eventsBefore()).toBe(before);
    await settled();
    expect(await backend.queries.listMetrics(project.id)).toEqual(metricsBefore);
    expect(await backend.queries.listMetrics(other.id)).toEqual([]);
  });

  it('asks the caller to authorize the metric\'s project (null when missing) before changing anything', async () => {
    const project = await commands.createProject({ name: 'authorize' });
    const metric = await commands.createMetric({ projectId: project.id, name: 'h', evalType: 'HUMAN', outputType: 'BOOLEAN' });
    const seen: (string | null)[] = [];
    const deny = (projectId: string | null) => {
      seen.push(projectId);
      throw new Error('denied');
    };
    await expect(commands.updateMetric({ metricId: metric.id, name: 'renamed' }, { authorize: deny })).rejects.toThrow('denied');
    await expect(commands.updateMetric({ metricId: 'missing', name: 'renamed' }, { authorize: deny })).rejects.toThrow('denied');
    expect(seen).toEqual([project.id, null]);
    expect(await backend.store.readStream(metricStreamId(metric.id))).toHaveLength(1);
  });

  /** The run's RecordAdded events as bus deliveries, as the scoring worker receives them. */
  async function deliveriesOf(runId: string): Promise<Delivery[]> {
    const events: StoredEvent[] = (await backend.store.readStream(runStreamId(runId))).filter((e) => e.type === 'RecordAdded');
    return events.map((event) => ({ event, deliveryCount: 1, maxDeliver: 5, ack: () => undefined, nak: () => undefined, term: () => undefined, working: () => undefined }));
  }

  it('a run keeps scoring with the versions it pinned while its metric is edited: every score carries that version', async () => {
    const project = await commands.createProject({ name: 'pinning' });
    const long = await commands.createMetric({ projectId: project.id, name: 'long enough', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'CODE', code: lengthCode(5) } });
    const tone = await commands.createMetric({ projectId: project.id, name: 'tone', evalType: 'HUMAN', outputType: 'INT' });
    const handle = createScoringHandler({
      metricsOfRun: (runId) => commands.metricsOfRun(runId),
      recordOutcomes: async (outcomes) => void (await commands.recordOutcomes(outcomes)),
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      codeSandbox: sandbox,
    });
    const answers = ['Paris', 'Lyon', 'Marseille', 'Nice', 'Toulouse', 'Lille'];
    const records = (n: number) => answers.slice(0, n).map((answer) => ({ outputs: { answer }, expected: { answer: 'Paris' } }));

    const runA = await commands.createRun({ projectId: project.id, metricIds: [long.id, tone.id], notes: 'pinned v1' });
    await commands.addRecords(runA.id, records(3));
    const [firstA, ...restA] = await deliveriesOf(runA.id);
    await handle([firstA]); // scoring has started…

    // …and the metric is edited: v2 wants 8 characters.
    const edited = await commands.updateMetric({ metricId: long.id, heuristic: { kind: 'CODE', code: lengthCode(8) }, description: 'stricter' });
    expect(edited.version).toBe(2);
    await commands.addRecords(runA.id, records(6).slice(3)); // run A keeps getting records
    const runB = await commands.createRun({ projectId: project.id, metricIds: [long.id], notes: 'pinned v2' });
    await commands.addRecords(runB.id, records(6));

    const laterA = (await deliveriesOf(runA.id)).slice(3);
    await handle([...restA, ...laterA, ...(await deliveriesOf(runB.id))]);
    await settled();

    const scoresOf = async (runId: string) =>
      (await backend.queries.listRecords(runId, { first: 100 })).items.flatMap(({ node }) =>
        node.scores.map((s) => ({ answer: (node.outputs as { answer: string }).answer, version: s.metricVersion, value: s.value })),
      );
    // Run A: all six records scored by v1 (5 characters), including those added after the edit.
    expect(await scoresOf(runA.id)).toEqual([
      { answer: 'Paris', version: 1, value: 1 },
      { answer: 'Lyon', version: 1, value: 0 },
      { answer: 'Marseille', version: 1, value: 1 },
      { answer: 'Nice', version: 1, value: 0 },
      { answer: 'Toulouse', version: 1, value: 1 },
      { answer: 'Lille', version: 1, value: 1 },
    ]);
    // Run B: v2 (8 characters).
    expect((await scoresOf(runB.id)).map((s) => [s.answer, s.version, s.value])).toEqual([
      ['Paris', 2, 0],
      ['Lyon', 2, 0],
      ['Marseille', 2, 1],
      ['Nice', 2, 0],
      ['Toulouse', 2, 1],
      ['Lille', 2, 0],
    ]);
    // The HUMAN metric is left to a person: run A waits for it (SCORING), run B is complete.
    expect(await backend.queries.getRun(runA.id)).toMatchObject({ status: 'SCORING', numScores: 6 });
    expect(await backend.queries.getRun(runB.id)).toMatchObject({ status: 'COMPLETED', numScores: 6 });
    expect((await backend.queries.getRun(runA.id))!.metrics.map((m) => [m.name, m.version])).toEqual([
      ['long enough', 1],
      ['tone', 1],
    ]);
    const pinned = await backend.queries.getRunMetricVersions(runA.id);
    expect(pinned.map((m) => [m.metricId, m.version, m.description])).toEqual([
      [long.id, 1, ''],
      [tone.id, 1, ''],
    ]);
    expect(pinned[0].heuristic).toEqual({ kind: 'CODE', code: lengthCode(5) });
    expect((await backend.queries.getRunMetricVersions(runB.id))[0]).toMatchObject({ version: 2, description: 'stricter', heuristic: { code: lengthCode(8) } });
  });
});
