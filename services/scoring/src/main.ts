/**
 * The scoring service as its own process. Needs DATABASE_URL and NATS_URL; the consumer's options
 * come from SCORING_* variables (see scoring-config.ts); HEALTH_PORT serves /healthz and /readyz.
 * Run as many of these as you like: they share the durable consumer "scoring" (with N of them, set
 * SCORING_MAX_ACK_PENDING to N × SCORING_MAX_IN_FLIGHT). SIGTERM / SIGINT stop consuming, wait for
 * the batches in flight, then close the bus and the database.
 */
import 'reflect-metadata';
import { JetStreamBus } from '@assay/bus';
import { connectBackend } from '@assay/backend';
import { exitOnStartupFailure, intEnv, listenOn, onShutdownSignal, serviceEnv, startHealthServer } from '@assay/runtime';
import { scoringConsumerOptions } from './scoring-config';
import { bootstrapScoring, createScoringLogger } from './scoring.module';
import { bootstrapExecution, createExecutionLogger } from './execution.module';
import { executionConsumerOptions } from '@assay/execution';

async function main(): Promise<void> {
  const logger = createScoringLogger();
  const consumer = scoringConsumerOptions(); // refuse bad SCORING_* values before connecting anywhere
  const executionConsumer = executionConsumerOptions(); // and bad EXECUTION_* values
  const env = serviceEnv('scoring');
  // The health server first: a HEALTH_PORT in use stops the process before it connects or consumes anything.
  // /readyz answers 503 until the workers have started.
  let ready = async () => false;
  const healthPort = intEnv('HEALTH_PORT', 0);
  const health = healthPort ? await listenOn('HEALTH_PORT', healthPort, () => startHealthServer(healthPort, () => ready())) : undefined;
  const backend = await connectBackend({ url: env.databaseUrl, applicationName: 'assay-scoring' });
  const bus = await JetStreamBus.connect({ url: env.natsUrl, ...env.nats, connectionName: 'assay-scoring', logger });

  const app = await bootstrapScoring({
    bus,
    metricsOfRun: (runId) => backend.runs.commands.metricsOfRun(runId),
    recordOutcomes: async (outcomes) => {
      await backend.runs.commands.recordOutcomes(outcomes);
    },
    // Issue 4: AI metrics through the process's LLM client (its governor is shared with every process), re-scoring.
    judge: await backend.judge(),
    rescoreVersions: (runIds) => backend.runs.commands.rescoreVersions(runIds),
    logger,
    consumer,
  });
  // The execution worker (kickoffRun) runs in every scoring process unless ASSAY_EXECUTION=off.
  const execution =
    process.env.ASSAY_EXECUTION === 'off'
      ? undefined
      : await bootstrapExecution({ bus, store: backend.store, llm: () => backend.llm(), logger: createExecutionLogger(), consumer: executionConsumer });
  ready = () => backend.db.query('select 1').then(() => true);
  logger.info({ healthPort: healthPort || undefined }, 'scoring service started');

  onShutdownSignal(
    async () => {
      health?.close();
      await app.close(); // stops the consumer, waiting for the batches in flight
      await execution?.close();
      await bus.close();
      await backend.close();
    },
    (msg, extra) => logger.info(extra ?? {}, msg),
  );
}

main().catch(exitOnStartupFailure('scoring', 'scoring service failed to start'));
