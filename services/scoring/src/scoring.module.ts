import type { ConsumerHandle, EventBus } from '@assay/bus';
import { createScoringHandler, ScoringHandlerDeps, ScoringLogger } from '@assay/scoring';
import {
  BeforeApplicationShutdown,
  DynamicModule,
  Inject,
  Injectable,
  INestApplicationContext,
  Module,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestLoggerBridge } from '@assay/runtime';
import pino from 'pino';
import { rescoreConsumerOptions, scoringConsumerOptions, ScoringConsumerOptions } from './scoring-config';

/** What the scoring service needs from the rest of the system: the same in its own process and in the all-in-one one. */
export interface ScoringModuleOptions {
  /** JetStream in service mode, the in-process bus in the embedded process. Only `consume` is used. */
  readonly bus: Pick<EventBus, 'consume'>;
  /** The metrics a run pinned (runs' command side reads them from the run stream). */
  readonly metricsOfRun: ScoringHandlerDeps['metricsOfRun'];
  /** Stores one batch of outcomes in one transaction, idempotently (runs' command side). */
  readonly recordOutcomes: ScoringHandlerDeps['recordOutcomes'];
  /** JSON-lines logger (pino-compatible). Default: pino on stdout, level from LOG_LEVEL (or ASSAY_LOG_LEVEL; info). */
  readonly logger?: ScoringLogger;
  /** Consumer options. Default: from the environment (see scoring-config.ts). */
  readonly consumer?: ScoringConsumerOptions;
  /** Issue 4: scores AI metrics (the LLM judge, @assay/llm). Without it they fail with METRIC_UNSUPPORTED. */
  readonly judge?: ScoringHandlerDeps['judge'];
  /** Issue 4: per run, its re-score stream's version (cached runs are loaded again when it moves). */
  readonly rescoreVersions?: ScoringHandlerDeps['rescoreVersions'];
}

export const SCORING_OPTIONS = Symbol('SCORING_OPTIONS');

export function createScoringLogger(): ScoringLogger {
  return pino({ name: 'scoring', level: process.env.LOG_LEVEL ?? process.env.ASSAY_LOG_LEVEL ?? 'info' });
}

/**
 * Consumes RecordAdded (durable name "scoring") from application bootstrap until shutdown; the
 * handler does the scoring. Stopping waits for the batches in flight, so a shutdown loses nothing
 * (and an interrupted batch is redelivered anyway).
 */
@Injectable()
export class ScoringWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: ConsumerHandle | undefined;
  private rescoreConsumer: ConsumerHandle | undefined;
  readonly options: ScoringConsumerOptions;
  private readonly logger: ScoringLogger;

  constructor(@Inject(SCORING_OPTIONS) private readonly moduleOptions: ScoringModuleOptions) {
    this.options = moduleOptions.consumer ?? scoringConsumerOptions();
    this.logger = moduleOptions.logger ?? createScoringLogger();
  }

  async onApplicationBootstrap(): Promise<void> {
    const { bus, metricsOfRun, recordOutcomes, judge, rescoreVersions } = this.moduleOptions;
    const handler = createScoringHandler({ metricsOfRun, recordOutcomes, judge, rescoreVersions, logger: this.logger });
    this.consumer = await bus.consume(this.options, handler);
    // Issue 4: rescoreRun's RecordRescoreRequested, through the same handler, on a durable of its own
    // (one subject filter each: servers before NATS 2.10 take one per consumer).
    const rescore = rescoreConsumerOptions(this.options);
    try {
      this.rescoreConsumer = await bus.consume(rescore, handler);
    } catch (error) {
      await this.consumer.stop();
      this.consumer = undefined;
      throw error;
    }
    const { name, maxInFlight, maxBatch, ackWaitMs, maxDeliver, backoffMs } = this.options;
    this.logger.info(
      { consumer: name, rescoreConsumer: rescore.name, maxInFlight, maxBatch, ackWaitMs, maxDeliver, backoffMs, judge: judge ? judge.defaultModel : 'none' },
      'scoring worker consuming RecordAdded and RecordRescoreRequested',
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    const consumers = [this.consumer, this.rescoreConsumer].filter((c): c is ConsumerHandle => c !== undefined);
    this.consumer = undefined;
    this.rescoreConsumer = undefined;
    if (consumers.length === 0) return;
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    this.logger.info({ consumer: this.options.name }, 'scoring worker stopped');
  }
}

@Module({})
export class ScoringModule {
  /** `ScoringModule.forRoot({ bus, metricsOfRun, recordOutcomes })`: imported by the scoring process and by the all-in-one process. */
  static forRoot(options: ScoringModuleOptions): DynamicModule {
    return {
      module: ScoringModule,
      providers: [{ provide: SCORING_OPTIONS, useValue: options }, ScoringWorker],
      exports: [ScoringWorker],
    };
  }
}

/**
 * Starts the scoring service as a Nest application context (no HTTP): it is consuming when this
 * resolves. `app.close()` stops the consumer, waiting for the batches in flight; closing the bus
 * and the database stays with the caller, who opened them.
 */
export async function bootstrapScoring(options: ScoringModuleOptions): Promise<INestApplicationContext> {
  const logger = options.logger ?? createScoringLogger();
  return NestFactory.createApplicationContext(ScoringModule.forRoot({ ...options, logger }), {
    logger: new NestLoggerBridge(logger),
    abortOnError: false,
  });
}
