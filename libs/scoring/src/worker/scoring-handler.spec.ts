import type { Delivery } from '@assay/bus';
import type { MetricSnapshot } from '@assay/contracts';
import { AssayError } from '@assay/contracts';
import { CodeSandbox } from '../code/code-sandbox';
import { createScoringHandler } from './scoring-handler';
import type { ScoringHandlerDeps, ScoringLogger, ScoringOutcome } from './types';

// In-memory fakes of the handler's contract with the bus (Delivery) and with the runs side.

type Settlement = { how: 'ack' } | { how: 'nak'; delayMs?: number } | { how: 'term'; reason: string };

interface FakeDelivery extends Delivery {
  readonly settlements: Settlement[];
  workingCalls: number;
}

let nextEventId = 1;

function delivery(data: unknown, options: { deliveryCount?: number; type?: string; schemaVersion?: number } = {}): FakeDelivery {
  const settlements: Settlement[] = [];
  const fake: FakeDelivery = {
    event: {
      eventId: `event-${nextEventId++}`,
      type: options.type ?? 'RecordAdded',
      schemaVersion: options.schemaVersion ?? 1,
      data,
      metadata: {},
      streamId: 'run-x',
      streamPosition: 1,
      globalPosition: 1,
      transactionId: '1',
      createdAt: new Date(0),
    },
    deliveryCount: options.deliveryCount ?? 1,
    maxDeliver: 5,
    settlements,
    workingCalls: 0,
    ack: () => void settlements.push({ how: 'ack' }),
    nak: (delayMs?: number) => void settlements.push({ how: 'nak', delayMs }),
    term: (reason: string) => void settlements.push({ how: 'term', reason }),
    working: () => {
      fake.workingCalls++;
    },
  };
  return fake;
}

const recordAdded = (runId: string, recordId: string, outputs: unknown, expected: unknown) => ({
  runId,
  recordId,
  testcaseId: null,
  inputs: { question: 'capital of France?' },
  outputs,
  expected,
});

const metric = (metricId: string, extra: Partial<MetricSnapshot> = {}): MetricSnapshot => ({
  metricId,
  version: 1,
  name: metricId,
  evalType: 'HEURISTIC',
  outputType: 'BOOLEAN',
  heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
  passingThreshold: 1,
  ...extra,
});

const exactMatch = metric('exact');
const similarity = metric('similar', {
  outputType: 'FLOAT',
  heuristic: { kind: 'LEVENSHTEIN', outputField: 'answer', expectedField: 'answer' },
  passingThreshold: 0.9,
});
const brokenRegex = metric('broken-regex', { heuristic: { kind: 'REGEX', params: { pattern: '(unclosed' } } });
const aiJudge = metric('judge', { evalType: 'AI', heuristic: null, outputType: 'INT', passingThreshold: 4 });

function silentLogger(): ScoringLogger & { lines: { level: string; fields: object; message: string }[] } {
  const lines: { level: string; fields: object; message: string }[] = [];
  const log = (level: string) => (fields: object, message: string) => void lines.push({ level, fields, message });
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function fakeDeps(runs: Record<string, readonly MetricSnapshot[]>, overrides: Partial<ScoringHandlerDeps> = {}) {
  const recorded: ScoringOutcome[][] = [];
  const metricsCalls: string[] = [];
  const logger = silentLogger();
  const deps: ScoringHandlerDeps = {
    metricsOfRun: async (runId) => {
      metricsCalls.push(runId);
      return runs[runId] ?? [];
    },
    recordOutcomes: async (outcomes) => {
      recorded.push(outcomes);
    },
    logger,
    ...overrides,
  };
  return { deps, recorded, metricsCalls, logger };
}

const brief = (outcome: ScoringOutcome) =>
  outcome.kind === 'score'
    ? { kind: 'score', recordId: outcome.recordId, metricId: outcome.metric.metricId, value: outcome.value }
    : { kind: 'failure', recordId: outcome.recordId, metricId: outcome.metric.metricId, code: outcome.code, attempts: outcome.attempts };

describe('createScoringHandler', () => {
  it('scores every metric of every record and records them with one call, then acks', async () => {
    const { deps, recorded } = fakeDeps({ 'run-1': [exactMatch, similarity], 'run-2': [exactMatch] });
    const batch = [
      delivery(recordAdded('run-1', 'r1', { answer: 'Paris' }, { answer: 'Paris' })),
      delivery(recordAdded('run-1', 'r2', { answer: 'Pari' }, { answer: 'Paris' })),
      delivery(recordAdded('run-2', 'r3', { answer: 'Lyon' }, { answer: 'Paris' })),
    ];

    await createScoringHandler(deps)(batch);

    expect(recorded).toHaveLength(1);
    expect(recorded[0].map(brief)).toEqual([
      { kind: 'score', recordId: 'r1', metricId: 'exact', value: 1 },
      { kind: 'score', recordId: 'r1', metricId: 'similar', value: 1 },
      { kind: 'score', recordId: 'r2', metricId: 'exact', value: 0 },
      { kind: 'score', recordId: 'r2', metricId: 'similar', value: 0.8 },
      { kind: 'score', recordId: 'r3', metricId: 'exact', value: 0 },
    ]);
    expect(recorded[0][2]).toEqual({
      kind: 'score',
      runId: 'run-1',
      recordId: 'r2',
      metric: exactMatch,
      value: 0,
      reasoning: "expected 'Paris', got 'Pari'",
    });
    for (const d of batch) expect(d.settlements).toEqual([{ how: 'ack' }]);
  });

  it('acks only after the outcomes are recorded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { deps } = fakeDeps({ 'run-1': [exactMatch] }, { recordOutcomes: () => gate });
    const d = delivery(recordAdded('run-1', 'r1', { answer: 'Paris' }, { answer: 'Paris' }));

    const handled = createScoringHandler(deps)([d]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(d.settlements).toEqual([]);
    release();
    await handled;
    expect(d.settlements).toEqual([{ how: 'ack' }]);
  });

  it('loads the metrics of a run once and keeps them across batches', async () => {
    const { deps, metricsCalls } = fakeDeps({ 'run-1': [exactMatch], 'run-2': [similarity] });
    const handle = createScoringHandler(deps);
    await handle([delivery(recordAdded('run-1', 'a', {}, {})), delivery(recordAdded('run-1', 'b', {}, {})), delivery(recordAdded('run-2', 'c', {}, {}))]);
    await handle([delivery(recordAdded('run-1', 'd', {}, {})), delivery(recordAdded('run-2', 'e', {}, {}))]);
    expect(metricsCalls.sort()).toEqual(['run-1', 'run-2']);
  });

  it('evicts the least recently used run past the cache size', async () => {
    const { deps, metricsCalls } = fakeDeps({ a: [exactMatch], b: [exactMatch], c: [exactMatch] }, { metricsCacheSize: 2 });
    const handle = createScoringHandler(deps);
    for (const runId of ['a', 'b', 'a', 'c', 'a', 'b']) await handle([delivery(recordAdded(runId, `r-${runId}`, {}, {}))]);
    expect(metricsCalls).toEqual(['a', 'b', 'c', 'b']);
  });

  it('naks every delivery when recording fails on a non-final attempt', async () => {
    const { deps, logger } = fakeDeps({ 'run-1': [exactMatch] }, { recordOutcomes: () => Promise.reject(new Error('connection refused')) });
    const batch = [delivery(recordAdded('run-1', 'r1', {}, {}), { deliveryCount: 1 }), delivery(recordAdded('run-1', 'r2', {}, {}), { deliveryCount: 4 })];

    await createScoringHandler(deps)(batch);

    for (const d of batch) expect(d.settlements).toEqual([{ how: 'nak', delayMs: undefined }]); // the bus applies its backoff
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ naked: 2, err: expect.objectContaining({ message: 'connection refused' }) }) }),
    ]);
  });

  it('records MAX_DELIVERIES_EXCEEDED for each metric and terms on the last attempt, naks the others', async () => {
    const calls: ScoringOutcome[][] = [];
    const { deps } = fakeDeps(
      { 'run-1': [exactMatch, similarity] },
      {
        recordOutcomes: async (outcomes) => {
          calls.push(outcomes);
          // The database refuses the batch, then takes the (smaller) failure write.
          if (calls.length === 1) throw new Error('too many clients already');
        },
      },
    );
    const last = delivery(recordAdded('run-1', 'r-last', {}, {}), { deliveryCount: 5 });
    const early = delivery(recordAdded('run-1', 'r-early', {}, {}), { deliveryCount: 2 });

    await createScoringHandler(deps)([last, early]);

    expect(calls).toHaveLength(2);
    expect(calls[1].map(brief)).toEqual([
      { kind: 'failure', recordId: 'r-last', metricId: 'exact', code: 'MAX_DELIVERIES_EXCEEDED', attempts: 5 },
      { kind: 'failure', recordId: 'r-last', metricId: 'similar', code: 'MAX_DELIVERIES_EXCEEDED', attempts: 5 },
    ]);
    const reason = (calls[1][0] as Extract<ScoringOutcome, { kind: 'failure' }>).reason;
    expect(reason).toMatch(/^Scoring gave up after 5 attempt\(s\); last error: too many clients already\. /);
    expect(last.settlements).toEqual([{ how: 'term', reason }]);
    expect(early.settlements).toEqual([{ how: 'nak', delayMs: undefined }]);
  });

  it('records MAX_DELIVERIES_EXCEEDED when the run cannot be read on the last attempt, once it can be', async () => {
    let available = false;
    const { deps, recorded } = fakeDeps(
      {},
      {
        metricsOfRun: async () => {
          if (!available) {
            available = true; // the retry inside the last attempt succeeds
            throw new Error('database is starting up');
          }
          return [exactMatch];
        },
      },
    );
    const last = delivery(recordAdded('run-1', 'r1', {}, {}), { deliveryCount: 5 });

    await createScoringHandler(deps)([last]);

    expect(recorded.map((call) => call.map(brief))).toEqual([[{ kind: 'failure', recordId: 'r1', metricId: 'exact', code: 'MAX_DELIVERIES_EXCEEDED', attempts: 5 }]]);
    expect(last.settlements).toEqual([{ how: 'term', reason: expect.stringContaining('last error: database is starting up.') }]);
  });

  it('naks (never terms) a last delivery whose failure cannot be recorded, and says so', async () => {
    const { deps, logger } = fakeDeps({ 'run-1': [exactMatch] }, { recordOutcomes: () => Promise.reject(new Error('database down')) });
    const last = delivery(recordAdded('run-1', 'r1', {}, {}), { deliveryCount: 7 });

    await createScoringHandler(deps)([last]);

    expect(last.settlements).toEqual([{ how: 'nak', delayMs: undefined }]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', fields: expect.objectContaining({ recordIds: ['r1'] }) }));
  });

  it('naks when the metrics of a run cannot be loaded, and loads them again next time', async () => {
    let calls = 0;
    const { deps, recorded } = fakeDeps(
      {},
      {
        metricsOfRun: async () => {
          calls++;
          if (calls === 1) throw new Error('timeout');
          return [exactMatch];
        },
      },
    );
    const handle = createScoringHandler(deps);
    const first = delivery(recordAdded('run-1', 'r1', { answer: 'x' }, { answer: 'x' }));
    await handle([first]);
    expect(first.settlements).toEqual([{ how: 'nak', delayMs: undefined }]);
    expect(recorded).toEqual([]);

    const again = delivery(recordAdded('run-1', 'r1', { answer: 'x' }, { answer: 'x' }), { deliveryCount: 2 });
    await handle([again]);
    expect(again.settlements).toEqual([{ how: 'ack' }]);
    expect(calls).toBe(2);
  });

  it('does not cache a run without metrics (a lagging reader): naks and asks again', async () => {
    const runs: Record<string, MetricSnapshot[]> = {};
    const { deps, metricsCalls } = fakeDeps(runs);
    const handle = createScoringHandler(deps);
    const early = delivery(recordAdded('run-1', 'r1', {}, {}));
    await handle([early]);
    expect(early.settlements).toEqual([{ how: 'nak', delayMs: undefined }]);

    runs['run-1'] = [exactMatch];
    const later = delivery(recordAdded('run-1', 'r1', {}, {}), { deliveryCount: 2 });
    await handle([later]);
    expect(later.settlements).toEqual([{ how: 'ack' }]);
    expect(metricsCalls).toEqual(['run-1', 'run-1']);
  });

  it('records METRIC_CONFIG_INVALID for a regex that does not compile, and still scores the other metrics', async () => {
    const { deps, recorded } = fakeDeps({ 'run-1': [brokenRegex, exactMatch] });
    const d = delivery(recordAdded('run-1', 'r1', { answer: 'Paris' }, { answer: 'Paris' }));

    await createScoringHandler(deps)([d]);

    expect(recorded[0].map(brief)).toEqual([
      { kind: 'failure', recordId: 'r1', metricId: 'broken-regex', code: 'METRIC_CONFIG_INVALID', attempts: 1 },
      { kind: 'score', recordId: 'r1', metricId: 'exact', value: 1 },
    ]);
    expect(recorded[0][0]).toMatchObject({ reason: expect.stringMatching(/^metric "broken-regex" \(v1\) cannot score: params\.pattern "\(unclosed" cannot be used: .*missing closing/) });
    expect(d.settlements).toEqual([{ how: 'ack' }]);
  });

  it.each([
    ['a heuristic whose output type does not match the metric', metric('m', { outputType: 'FLOAT', passingThreshold: 0.5 }), /EXACT_MATCH produces BOOLEAN scores/],
    ['a HEURISTIC metric without a heuristic', metric('m', { heuristic: null }), /has no heuristic definition/],
    ['a bad param type', metric('m', { heuristic: { kind: 'CONTAINS', params: { caseSensitive: 'no' } } }), /params\.caseSensitive must be true or false/],
  ])('records METRIC_CONFIG_INVALID for %s', async (_name, broken, reason) => {
    const { deps, recorded } = fakeDeps({ 'run-1': [broken] });
    await createScoringHandler(deps)([delivery(recordAdded('run-1', 'r1', {}, {}))]);
    expect(recorded[0]).toEqual([expect.objectContaining({ kind: 'failure', code: 'METRIC_CONFIG_INVALID', reason: expect.stringMatching(reason) })]);
  });

  it('records METRIC_UNSUPPORTED, saying what to do, for a metric it cannot score yet', async () => {
    const { deps, recorded } = fakeDeps({ 'run-1': [aiJudge, exactMatch] });
    await createScoringHandler(deps)([delivery(recordAdded('run-1', 'r1', { answer: 'a' }, { answer: 'a' }))]);
    expect(recorded[0].map(brief)).toEqual([
      { kind: 'failure', recordId: 'r1', metricId: 'judge', code: 'METRIC_UNSUPPORTED', attempts: 1 },
      { kind: 'score', recordId: 'r1', metricId: 'exact', value: 1 },
    ]);
    expect(recorded[0][0]).toMatchObject({ reason: expect.stringMatching(/AI metric and this scoring service has no LLM judge configured.*OPENAI_BASE_URL/) });
  });

  it('leaves HUMAN metrics alone: no score and no failure (a person scores them; the run stays SCORING)', async () => {
    const human = metric('tone', { evalType: 'HUMAN', heuristic: null, outputType: 'INT', passingThreshold: 4 });
    const { deps, recorded } = fakeDeps({ 'run-1': [human, exactMatch], 'run-2': [human] });
    const batch = [delivery(recordAdded('run-1', 'r1', { answer: 'a' }, { answer: 'a' })), delivery(recordAdded('run-2', 'r2', {}, {}))];
    await createScoringHandler(deps)(batch);
    expect(recorded[0].map(brief)).toEqual([{ kind: 'score', recordId: 'r1', metricId: 'exact', value: 1 }]);
    for (const d of batch) expect(d.settlements).toEqual([{ how: 'ack' }]);
  });

  it('does not fail HUMAN metrics when it gives up on a record either', async () => {
    const human = metric('tone', { evalType: 'HUMAN', heuristic: null, outputType: 'INT', passingThreshold: 4 });
    const calls: ScoringOutcome[][] = [];
    const { deps } = fakeDeps(
      { 'run-1': [human, exactMatch] },
      {
        recordOutcomes: async (outcomes) => {
          calls.push(outcomes);
          if (calls.length === 1) throw new Error('database down');
        },
      },
    );
    await createScoringHandler(deps)([delivery(recordAdded('run-1', 'r1', {}, {}), { deliveryCount: 5 })]);
    expect(calls[1].map(brief)).toEqual([{ kind: 'failure', recordId: 'r1', metricId: 'exact', code: 'MAX_DELIVERIES_EXCEEDED', attempts: 5 }]);
  });

  it('scores a redelivered record again and leaves deduplication to recordOutcomes (the first outcome stands)', async () => {
    const { deps, recorded } = fakeDeps({ 'run-1': [exactMatch] });
    const handle = createScoringHandler(deps);
    await handle([delivery(recordAdded('run-1', 'r1', { answer: 'a' }, { answer: 'a' }))]);
    await handle([delivery(recordAdded('run-1', 'r1', { answer: 'a' }, { answer: 'a' }), { deliveryCount: 2 })]);
    expect(recorded.map((call) => call.map(brief))).toEqual([
      [{ kind: 'score', recordId: 'r1', metricId: 'exact', value: 1 }],
      [{ kind: 'score', recordId: 'r1', metricId: 'exact', value: 1 }],
    ]);
  });

  it('records EVENT_PAYLOAD_INVALID for each metric when the payload breaks its schema but names its record', async () => {
    const { deps, recorded } = fakeDeps({ 'run-1': [exactMatch] });
    const d = delivery({ runId: 'run-1', recordId: 'r1', outputs: {} }); // no testcaseId, inputs, expected
    await createScoringHandler(deps)([d]);
    expect(recorded[0]).toEqual([expect.objectContaining({ kind: 'failure', recordId: 'r1', code: 'EVENT_PAYLOAD_INVALID', reason: expect.stringMatching(/^RecordAdded payload is invalid/) })]);
    expect(d.settlements).toEqual([{ how: 'ack' }]);
  });

  it('terms, with an error log, a payload that names no record (nothing to attach a failure to)', async () => {
    const { deps, recorded, logger } = fakeDeps({ 'run-1': [exactMatch] });
    const d = delivery({ nonsense: true });
    const good = delivery(recordAdded('run-1', 'r1', {}, {}));
    await createScoringHandler(deps)([d, good]);
    expect(d.settlements).toEqual([{ how: 'term', reason: expect.stringMatching(/RecordAdded payload is invalid/) }]);
    expect(good.settlements).toEqual([{ how: 'ack' }]);
    expect(recorded).toHaveLength(1);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', fields: expect.objectContaining({ eventId: d.event.eventId }) }));
  });

  it('naks a schema version it does not know (a newer worker may), and gives up on the last attempt', async () => {
    const { deps, recorded } = fakeDeps({ 'run-1': [exactMatch] });
    const handle = createScoringHandler(deps);
    const early = delivery(recordAdded('run-1', 'r1', {}, {}), { schemaVersion: 2 });
    const last = delivery(recordAdded('run-1', 'r2', {}, {}), { schemaVersion: 2, deliveryCount: 5 });
    await handle([early, last]);
    expect(early.settlements).toEqual([{ how: 'nak', delayMs: undefined }]);
    expect(recorded.map((call) => call.map(brief))).toEqual([[{ kind: 'failure', recordId: 'r2', metricId: 'exact', code: 'MAX_DELIVERIES_EXCEEDED', attempts: 5 }]]);
    expect(last.settlements).toEqual([{ how: 'term', reason: expect.stringContaining('RecordAdded v2 is not supported') }]);
  });

  it('acks an event of another type without scoring it', async () => {
    const { deps, recorded, logger } = fakeDeps({});
    const d = delivery({ runId: 'run-1', notes: 'x' }, { type: 'RunNotesUpdated' });
    await createScoringHandler(deps)([d]);
    expect(d.settlements).toEqual([{ how: 'ack' }]);
    expect(recorded).toEqual([]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn' }));
  });

  it('isolates a record whose outcomes are rejected for good, so it does not sink its batch', async () => {
    const { deps, recorded } = fakeDeps(
      { 'run-1': [exactMatch] },
      {
        recordOutcomes: async (outcomes) => {
          if (outcomes.some((o) => o.recordId === 'poison')) throw new AssayError('BAD_USER_INPUT', 'rejected');
          recorded.push(outcomes);
        },
      },
    );
    const poison = delivery(recordAdded('run-1', 'poison', {}, {}), { deliveryCount: 2 });
    const fine = delivery(recordAdded('run-1', 'fine', {}, {}), { deliveryCount: 2 });
    await createScoringHandler(deps)([poison, fine]);
    expect(fine.settlements).toEqual([{ how: 'ack' }]);
    expect(poison.settlements).toEqual([{ how: 'nak', delayMs: undefined }]);
    expect(recorded.map((call) => call.map((o) => o.recordId))).toEqual([['fine']]);
  });

  it('settles every delivery exactly once, even when the logger throws', async () => {
    const { deps } = fakeDeps({ 'run-1': [exactMatch] });
    const throwing = { ...deps.logger, warn: () => { throw new Error('log sink broken'); }, debug: () => undefined };
    const batch = [delivery({ runId: 'run-1', notes: '' }, { type: 'RunNotesUpdated' }), delivery(recordAdded('run-1', 'r1', {}, {}))];
    await createScoringHandler({ ...deps, logger: { ...throwing, error: () => undefined } })(batch);
    for (const d of batch) expect(d.settlements).toHaveLength(1);
  });

  it('records nothing and settles nothing for an empty batch', async () => {
    const { deps, recorded } = fakeDeps({});
    await createScoringHandler(deps)([]);
    expect(recorded).toEqual([]);
  });

  it('logs counts per batch at debug and totals at info periodically, with no per-record info', async () => {
    let clock = 0;
    const { deps, logger } = fakeDeps({ 'run-1': [exactMatch, similarity] }, { now: () => clock, totalsIntervalMs: 60_000 });
    const handle = createScoringHandler(deps);
    await handle([delivery(recordAdded('run-1', 'r1', {}, {})), delivery(recordAdded('run-1', 'r2', {}, {}))]);
    clock = 61_000;
    await handle([delivery(recordAdded('run-1', 'r3', {}, {}))]);

    expect(logger.lines.filter((l) => l.level === 'debug')).toEqual([
      { level: 'debug', message: 'scoring batch done', fields: { size: 2, scores: 4, failures: 0, acked: 2, naked: 0, termed: 0, ignored: 0, ms: 0 } },
      { level: 'debug', message: 'scoring batch done', fields: { size: 1, scores: 2, failures: 0, acked: 1, naked: 0, termed: 0, ignored: 0, ms: 0 } },
    ]);
    expect(logger.lines.filter((l) => l.level === 'info')).toEqual([
      { level: 'info', message: 'scoring totals', fields: { batches: 2, deliveries: 3, scores: 6, failures: 0, acked: 3, naked: 0, termed: 0, cachedRuns: 1 } },
    ]);
  });

  it('holds the ack deadline with working() while a long batch is scored', async () => {
    let clock = 0;
    const slowMetric = metric('slow');
    const { deps } = fakeDeps({ 'run-1': [slowMetric] }, { now: () => (clock += 1_000), workingIntervalMs: 5_000 });
    const batch = Array.from({ length: 20 }, (_, i) => delivery(recordAdded('run-1', `r${i}`, {}, {})));
    await createScoringHandler(deps)(batch);
    expect(batch[0].workingCalls).toBeGreaterThanOrEqual(3);
    for (const d of batch) expect(d.settlements).toEqual([{ how: 'ack' }]);
  });
});

describe('createScoringHandler: CODE heuristics', () => {
  let sandbox: CodeSandbox;

  beforeAll(async () => {
    sandbox = await CodeSandbox.create({ timeLimitMs: 1_000, memoryLimitBytes: 4 * 1024 * 1024, graceMs: 300 });
  });

  afterAll(() => sandbox.close());

  const code = (metricId: string, source: string, outputType: MetricSnapshot['outputType'] = 'BOOLEAN') =>
    metric(metricId, { outputType, passingThreshold: outputType === 'FLOAT' ? 0.5 : outputType === 'INT' ? 4 : 1, heuristic: { kind: 'CODE', code: source } });

  it('runs the function in the sandbox for every record', async () => {
    const length = code('length', 'function score({ outputs }) { const n = outputs.answer.length; return { score: n / 10, reasoning: n + " characters" } }', 'FLOAT');
    const { deps, recorded } = fakeDeps({ 'run-1': [length, exactMatch] }, { codeSandbox: sandbox });
    await createScoringHandler(deps)([
      delivery(recordAdded('run-1', 'r1', { answer: 'Paris' }, { answer: 'Paris' })),
      delivery(recordAdded('run-1', 'r2', { answer: 'Lyon' }, { answer: 'Paris' })),
    ]);
    expect(recorded[0]).toEqual([
      expect.objectContaining({ kind: 'score', recordId: 'r1', metric: length, value: 0.5, reasoning: '5 characters' }),
      expect.objectContaining({ kind: 'score', recordId: 'r1', metric: exactMatch, value: 1 }),
      expect.objectContaining({ kind: 'score', recordId: 'r2', metric: length, value: 0.4, reasoning: '4 characters' }),
      expect.objectContaining({ kind: 'score', recordId: 'r2', metric: exactMatch, value: 0 }),
    ]);
  });

  it('records why a function failed on a record, and goes on scoring the other records and metrics', async () => {
    const hostile = code(
      'hostile',
      `function score({ inputs }) {
        switch (inputs.attack) {
          case 'loop': for (;;) {}
          case 'native-loop': for (;;) 'x'.repeat(4e6);
          case 'memory': { const a = []; for (;;) a.push([a.length, a.length]) }
          case 'fs': return require('fs').readFileSync('/etc/passwd', 'utf8');
          case 'network': return fetch('http://169.254.169.254/');
          case 'process': return process.exit(1);
          case 'import': return import('child_process');
          case 'bad-result': return { score: 'yes' };
          default: return { score: true, reasoning: 'fine' };
        }
      }`,
    );
    const { deps, recorded } = fakeDeps({ 'run-1': [hostile, exactMatch] }, { codeSandbox: sandbox });
    const attacks = ['loop', 'fine', 'native-loop', 'memory', 'fs', 'network', 'process', 'import', 'bad-result', 'fine'];
    const batch = attacks.map((attack, i) => delivery({ ...recordAdded('run-1', `r${i}`, { answer: 'a' }, { answer: 'a' }), inputs: { attack } }));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    const started = Date.now();
    try {
      await createScoringHandler(deps)(batch);
    } finally {
      clearInterval(ticker);
    }
    const outcomes = recorded[0];
    const ofHostile = outcomes.filter((o) => o.metric.metricId === 'hostile').map((o) => (o.kind === 'score' ? `score ${o.value}` : o.code));
    expect(ofHostile).toEqual([
      'CODE_TIMEOUT',
      'score 1',
      'CODE_TIMEOUT',
      'CODE_MEMORY_LIMIT',
      'CODE_ERROR',
      'CODE_ERROR',
      'CODE_ERROR',
      'CODE_ERROR',
      'CODE_RESULT_INVALID',
      'score 1',
    ]);
    const reasons = outcomes.filter((o) => o.kind === 'failure').map((o) => (o.kind === 'failure' ? o.reason : ''));
    expect(reasons).toEqual([
      expect.stringMatching(/^metric "hostile" \(v1\): The code ran longer than the limit of 1000 ms/),
      expect.stringMatching(/ran longer than the limit/),
      expect.stringMatching(/memory limit of 4 MiB/),
      expect.stringMatching(/ReferenceError: 'require' is not defined \(line 6/),
      expect.stringMatching(/ReferenceError: 'fetch' is not defined/),
      expect.stringMatching(/ReferenceError: 'process' is not defined/),
      expect.stringMatching(/could not load module 'child_process'/),
      expect.stringMatching(/score a boolean .*score is a string/),
    ]);
    // Every record got its exact-match score too, and every delivery was acked.
    expect(outcomes.filter((o) => o.metric.metricId === 'exact' && o.kind === 'score')).toHaveLength(attacks.length);
    for (const d of batch) expect(d.settlements).toEqual([{ how: 'ack' }]);
    // The event loop kept turning while the code ran on the sandbox's thread.
    expect(ticks).toBeGreaterThan((Date.now() - started) / 20 / 3);
  });

  it('records METRIC_CONFIG_INVALID for every record when the pinned code no longer compiles', async () => {
    const broken = code('broken', 'function score( {');
    const { deps, recorded } = fakeDeps({ 'run-1': [broken] }, { codeSandbox: sandbox });
    await createScoringHandler(deps)([delivery(recordAdded('run-1', 'r1', {}, {}))]);
    expect(recorded[0]).toEqual([expect.objectContaining({ kind: 'failure', code: 'METRIC_CONFIG_INVALID', reason: expect.stringMatching(/does not compile: SyntaxError/) })]);
  });

  it('retries (naks) when the sandbox is unavailable, instead of failing the record', async () => {
    const closed = new CodeSandbox();
    await closed.close();
    const { deps, recorded } = fakeDeps({ 'run-1': [code('c', 'function score() { return { score: true } }')] }, { codeSandbox: closed });
    const d = delivery(recordAdded('run-1', 'r1', {}, {}));
    await createScoringHandler(deps)([d]);
    expect(recorded).toEqual([]);
    expect(d.settlements).toEqual([{ how: 'nak', delayMs: undefined }]);
  });
});
