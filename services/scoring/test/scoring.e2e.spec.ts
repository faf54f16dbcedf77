/**
 * The scoring service end to end on real infrastructure: RecordAdded events stored in PostgreSQL and
 * published on JetStream are scored by ScoringModule and recorded by the runs command side. Needs
 * PostgreSQL (DATABASE_URL) and NATS with JetStream (NATS_URL), as every integration test here.
 */
import 'reflect-metadata';
import { JetStreamBus } from '@assay/bus';
import type { MetricSnapshot } from '@assay/contracts';
import { recordStreamId, runStreamId } from '@assay/domain';
import type { StoredEvent } from '@assay/event-store';
import { connectRunsBackend, RunsBackend } from '@assay/runs';
import type { ScoringLogger } from '@assay/scoring';
import { createTestDatabase, testNatsUrl, TestDatabase, uniqueBusPrefix } from '@assay/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { bootstrapScoring } from '../src/scoring.module';

const quiet: ScoringLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const prefix = uniqueBusPrefix('scoring');
const streamName = prefix.toUpperCase();

let database: TestDatabase;
let backend: RunsBackend;
let bus: JetStreamBus;
let app: INestApplicationContext;

const metric = (metricId: string, extra: Partial<MetricSnapshot>): MetricSnapshot => ({
  metricId,
  version: 1,
  name: metricId,
  evalType: 'HEURISTIC',
  outputType: 'BOOLEAN',
  passingThreshold: 1,
  ...extra,
});
const exact = metric('exact', { heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' } });
const similar = metric('similar', { outputType: 'FLOAT', passingThreshold: 0.7, heuristic: { kind: 'LEVENSHTEIN', outputField: 'answer', expectedField: 'answer' } });
// Metric creation refuses this regex; a pinned snapshot can still carry one (e.g. from an older version).
const broken = metric('broken', { heuristic: { kind: 'REGEX', params: { pattern: '(' } } });

beforeAll(async () => {
  database = await createTestDatabase('assay_scoring');
  backend = await connectRunsBackend({ url: database.url, applicationName: 'scoring-e2e' });
  bus = await JetStreamBus.connect({ url: testNatsUrl(), streamName, subjectPrefix: prefix, logger: quiet, stream: { maxAgeMs: 60 * 60 * 1000 } });
  app = await bootstrapScoring({
    bus,
    metricsOfRun: (runId) => backend.commands.metricsOfRun(runId),
    recordOutcomes: async (outcomes) => {
      await backend.commands.recordOutcomes(outcomes);
    },
    logger: quiet,
    consumer: { name: 'scoring', eventTypes: ['RecordAdded'], maxInFlight: 64, maxBatch: 50, ackWaitMs: 30_000, maxDeliver: 5, backoffMs: [200] },
  });
});

afterAll(async () => {
  await app?.close();
  await bus?.manager.streams.delete(streamName).catch(() => undefined);
  await bus?.close();
  await backend?.close();
  await database?.drop();
});

async function waitForOutcomes(recordIds: readonly string[], perRecord: number): Promise<Map<string, StoredEvent[]>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const streams = await backend.store.readStreams(recordIds.map(recordStreamId));
    const complete = recordIds.every((id) => (streams.get(recordStreamId(id)) ?? []).length >= perRecord);
    if (complete) return streams;
    if (Date.now() > deadline) throw new Error(`outcomes incomplete: ${JSON.stringify([...streams].map(([id, events]) => [id, events.length]))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every message on the stream was delivered to "scoring" and acked (or termed). */
async function waitForConsumerIdle(): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [stream, consumer] = await Promise.all([bus.manager.streams.info(streamName), bus.manager.consumers.info(streamName, 'scoring')]);
    if (consumer.num_pending === 0 && consumer.num_ack_pending === 0 && consumer.ack_floor.stream_seq >= stream.state.last_seq) return;
    if (Date.now() > deadline) throw new Error(`consumer not idle: ${JSON.stringify({ pending: consumer.num_pending, ackPending: consumer.num_ack_pending })}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('scores every record of a run by every pinned metric, once, even when the events are published again', async () => {
  const runId = 'run-e2e';
  const answers = ['Paris', 'paris', 'Lyon', 'Pariss'];
  const recordIds = answers.map((_, i) => `record-${i}`);
  const { events } = await backend.store.append([
    {
      streamId: runStreamId(runId),
      expectedVersion: 'no_stream',
      events: [
        { type: 'RunCreated', data: { runId, projectId: 'p1', notes: '', metrics: [exact, similar, broken] } },
        ...answers.map((answer, i) => ({
          type: 'RecordAdded',
          data: { runId, recordId: recordIds[i], testcaseId: null, inputs: { q: 'capital of France?' }, outputs: { answer }, expected: { answer: 'Paris' } },
        })),
      ],
    },
  ]);
  await bus.publish(events);

  const streams = await waitForOutcomes(recordIds, 3);
  const summary = recordIds.map((id) =>
    (streams.get(recordStreamId(id)) ?? []).map((event) => {
      const data = event.data as { metricId: string; value?: number; passed?: boolean; code?: string };
      return event.type === 'ScoreRecorded' ? [data.metricId, Number(data.value!.toFixed(2)), data.passed] : [data.metricId, data.code];
    }),
  );
  expect(summary).toEqual([
    [['exact', 1, true], ['similar', 1, true], ['broken', 'METRIC_CONFIG_INVALID']],
    [['exact', 0, false], ['similar', 0.8, true], ['broken', 'METRIC_CONFIG_INVALID']],
    [['exact', 0, false], ['similar', 0, false], ['broken', 'METRIC_CONFIG_INVALID']],
    [['exact', 0, false], ['similar', 0.83, true], ['broken', 'METRIC_CONFIG_INVALID']],
  ]);

  // The same RecordAdded again, past JetStream's deduplication (a new message id): no second outcome.
  await bus.publish(events.filter((e) => e.type === 'RecordAdded').map((e) => ({ ...e, eventId: `${e.eventId}-again` })));
  await waitForConsumerIdle();
  const after = await backend.store.readStreams(recordIds.map(recordStreamId));
  expect(recordIds.map((id) => after.get(recordStreamId(id))!.length)).toEqual([3, 3, 3, 3]);
});
