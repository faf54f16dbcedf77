import 'reflect-metadata';
import type { ConsumerHandle, EventBus } from '@assay/bus';
import type { PostgresEventStore } from '@assay/event-store';
import { ChatClient, createExecutionHandler, executionConsumerOptions, ExecutionConsumerOptions, ExecutionLogger } from '@assay/execution';
import { BeforeApplicationShutdown, DynamicModule, Inject, Injectable, INestApplicationContext, Module, OnApplicationBootstrap } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { NestLoggerBridge } from '@assay/runtime';

/**
 * The execution worker (issue 4, kickoffRun): runs the system version of a run for each of its
 * (testcase, trial), hosted by the scoring process (and by the all-in-one process). It consumes
 * ExecutionsScheduled (durable name "execution"); the model calls go through the process's LLM
 * client, whose governor bounds them across every process.
 */
export interface ExecutionModuleOptions {
  /** JetStream in service mode, the in-process bus in the embedded process. Only `consume` is used. */
  readonly bus: Pick<EventBus, 'consume'>;
  readonly store: PostgresEventStore;
  /** The process's LLM client (Backend.llm): connected when the first execution needs it. */
  readonly llm: () => Promise<ChatClient>;
  /** Default: pino on stdout, level from LOG_LEVEL (or ASSAY_LOG_LEVEL; info). */
  readonly logger?: ExecutionLogger;
  /** Default: from the environment (EXECUTION_*, see @assay/execution's execution-config.ts). */
  readonly consumer?: ExecutionConsumerOptions;
}

export const EXECUTION_OPTIONS = Symbol('EXECUTION_OPTIONS');

export function createExecutionLogger(): ExecutionLogger {
  return pino({ name: 'execution', level: process.env.LOG_LEVEL ?? process.env.ASSAY_LOG_LEVEL ?? 'info' });
}

@Injectable()
export class ExecutionWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer: ConsumerHandle | undefined;
  private readonly shutdown = new AbortController();
  readonly options: ExecutionConsumerOptions;
  private readonly logger: ExecutionLogger;

  constructor(@Inject(EXECUTION_OPTIONS) private readonly moduleOptions: ExecutionModuleOptions) {
    this.options = moduleOptions.consumer ?? executionConsumerOptions();
    this.logger = moduleOptions.logger ?? createExecutionLogger();
  }

  async onApplicationBootstrap(): Promise<void> {
    const { bus, store, llm } = this.moduleOptions;
    const handler = createExecutionHandler({
      store,
      llm,
      concurrency: this.options.concurrency,
      logger: this.logger,
      signal: this.shutdown.signal,
    });
    this.consumer = await bus.consume(this.options, handler);
    const { name, maxInFlight, maxBatch, ackWaitMs, maxDeliver, backoffMs, concurrency } = this.options;
    this.logger.info({ consumer: name, maxInFlight, maxBatch, ackWaitMs, maxDeliver, backoffMs, concurrency }, 'execution worker consuming ExecutionsScheduled');
  }

  async beforeApplicationShutdown(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (!consumer) return;
    // Model calls can wait a long time (retries, a provider's Retry-After): stop them, so the batches
    // in flight end at once, nak'ed for another worker (what was recorded stays recorded).
    this.shutdown.abort(new Error('The execution worker is shutting down'));
    await consumer.stop();
    this.logger.info({ consumer: this.options.name }, 'execution worker stopped');
  }
}

@Module({})
export class ExecutionModule {
  static forRoot(options: ExecutionModuleOptions): DynamicModule {
    return { module: ExecutionModule, providers: [{ provide: EXECUTION_OPTIONS, useValue: options }, ExecutionWorker], exports: [ExecutionWorker] };
  }
}

/** Starts the execution worker as a Nest application context: consuming when this resolves; `close()` waits for the batches in flight. */
export async function bootstrapExecution(options: ExecutionModuleOptions): Promise<INestApplicationContext> {
  const logger = options.logger ?? createExecutionLogger();
  return NestFactory.createApplicationContext(ExecutionModule.forRoot({ ...options, logger }), { logger: new NestLoggerBridge(logger), abortOnError: false });
}
