import 'reflect-metadata';
import type { BatchHandler, ConsumerOptions, Delivery, EventBus } from '@assay/bus';
import type { MetricSnapshot } from '@assay/contracts';
import type { ScoringLogger, ScoringOutcome } from '@assay/scoring';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { bootstrapScoring, ScoringModule, ScoringWorker } from './scoring.module';

/** A bus that hands the handler to the test: the module's contract with EventBus.consume. */
function fakeBus() {
  const consumers: { options: ConsumerOptions; handler: BatchHandler; stopped: boolean }[] = [];
  const bus: Pick<EventBus, 'consume'> = {
    consume: async (options, handler) => {
      const consumer = { options, handler, stopped: false };
      consumers.push(consumer);
      return {
        stop: async () => {
          consumer.stopped = true;
        },
      };
    },
  };
  return { bus, consumers };
}

const quietLogger: ScoringLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const exactMatch: MetricSnapshot = {
  metricId: 'm1',
  version: 1,
  name: 'answer matches',
  evalType: 'HEURISTIC',
  outputType: 'BOOLEAN',
  heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
  passingThreshold: 1,
};

function recordDelivery(recordId: string, answer: string): Delivery & { settled: string[] } {
  const settled: string[] = [];
  return {
    event: {
      eventId: `e-${recordId}`,
      type: 'RecordAdded',
      schemaVersion: 1,
      data: { runId: 'run-1', recordId, testcaseId: null, inputs: {}, outputs: { answer }, expected: { answer: 'Paris' } },
      metadata: {},
      streamId: 'run-run-1',
      streamPosition: 2,
      globalPosition: 2,
      transactionId: '1',
      createdAt: new Date(0),
    },
    deliveryCount: 1,
    maxDeliver: 5,
    settled,
    ack: () => void settled.push('ack'),
    nak: () => void settled.push('nak'),
    term: () => void settled.push('term'),
    working: () => undefined,
  };
}

describe('ScoringModule', () => {
  it('consumes RecordAdded as "scoring" once bootstrapped, scores through the handler, and stops on close', async () => {
    const { bus, consumers } = fakeBus();
    const recorded: ScoringOutcome[][] = [];
    const app = await bootstrapScoring({
      bus,
      metricsOfRun: async () => [exactMatch],
      recordOutcomes: async (outcomes) => void recorded.push(outcomes),
      logger: quietLogger,
      consumer: { name: 'scoring', eventTypes: ['RecordAdded'], maxInFlight: 8, maxBatch: 4, ackWaitMs: 30_000, maxDeliver: 5, backoffMs: [1_000] },
    });

    // RecordAdded, and rescoreRun's RecordRescoreRequested on a durable of its own, through the same handler.
    expect(consumers).toHaveLength(2);
    expect(consumers[0].options).toMatchObject({ name: 'scoring', eventTypes: ['RecordAdded'], maxBatch: 4 });
    expect(consumers[1].options).toMatchObject({ name: 'scoring-rescore', eventTypes: ['RecordRescoreRequested'], maxBatch: 4 });
    expect(consumers[1].handler).toBe(consumers[0].handler);

    const batch = [recordDelivery('r1', 'Paris'), recordDelivery('r2', 'Lyon')];
    await consumers[0].handler(batch);
    expect(recorded).toHaveLength(1);
    expect(recorded[0].map((o) => (o.kind === 'score' ? [o.recordId, o.value] : o.code))).toEqual([
      ['r1', 1],
      ['r2', 0],
    ]);
    expect(batch.map((d) => d.settled)).toEqual([['ack'], ['ack']]);

    await app.close();
    expect(consumers[0].stopped).toBe(true);
  });

  it('takes its consumer options from the environment by default', async () => {
    const { bus, consumers } = fakeBus();
    const saved = process.env.SCORING_MAX_BATCH;
    process.env.SCORING_MAX_BATCH = '50';
    try {
      const app = await bootstrapScoring({ bus, metricsOfRun: async () => [], recordOutcomes: async () => undefined, logger: quietLogger });
      expect(consumers[0].options).toEqual({
        name: 'scoring',
        eventTypes: ['RecordAdded'],
        maxInFlight: 256,
        maxBatch: 50,
        ackWaitMs: 30_000,
        maxDeliver: 5,
        backoffMs: [1_000, 5_000, 15_000, 30_000],
        // room for 8 scoring processes sharing the durable consumer
        maxAckPending: 2048,
      });
      await app.close();
    } finally {
      if (saved === undefined) delete process.env.SCORING_MAX_BATCH;
      else process.env.SCORING_MAX_BATCH = saved;
    }
  });

  it('composes into a larger application (the all-in-one process)', async () => {
    const { bus, consumers } = fakeBus();
    @Module({ imports: [ScoringModule.forRoot({ bus, metricsOfRun: async () => [exactMatch], recordOutcomes: async () => undefined, logger: quietLogger })] })
    class AllInOneModule {}

    const app = await NestFactory.createApplicationContext(AllInOneModule, { logger: false, abortOnError: false });
    expect(app.get(ScoringWorker).options.name).toBe('scoring');
    expect(consumers).toHaveLength(2);
    await app.close();
    expect(consumers.map((c) => c.stopped)).toEqual([true, true]);
  });

  it('fails to start, instead of running idle, when the bus refuses the consumer', async () => {
    const bus: Pick<EventBus, 'consume'> = { consume: () => Promise.reject(new Error('JetStream not enabled')) };
    await expect(bootstrapScoring({ bus, metricsOfRun: async () => [], recordOutcomes: async () => undefined, logger: quietLogger })).rejects.toThrow('JetStream not enabled');
  });
});
