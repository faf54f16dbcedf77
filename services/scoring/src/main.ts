/**
 * The scoring service as its own process. Needs DATABASE_URL and NATS_URL; the consumer's options
 * come from SCORING_* variables (see scoring-config.ts). Run as many of these as you like: they share
 * the durable consumer "scoring". SIGTERM / SIGINT stop consuming, wait for the batches in flight,
 * then close the bus and the database.
 *
 * NOTE(lead): written against @assay/bus (JetStreamBus), @assay/event-store and @assay/database
 * while their authors were still landing them; check the wiring below against their final APIs
 * (in particular which migrations a service process applies).
 */
import 'reflect-metadata';
import { JetStreamBus } from '@assay/bus';
import { AssayError } from '@assay/contracts';
import { Database } from '@assay/database';
import { eventStoreMigrations, PostgresEventStore } from '@assay/event-store';
import { readModelMigrations, RunCommands, RunQueries } from '@assay/runs';
import { scoringConsumerOptions } from './scoring-config';
import { bootstrapScoring, createScoringLogger } from './scoring.module';

async function main(): Promise<void> {
  const logger = createScoringLogger();
  const consumer = scoringConsumerOptions(); // refuse bad SCORING_* values before connecting anywhere
  const databaseUrl = requiredEnv('DATABASE_URL', 'postgres://user@host:5432/assay');
  const natsUrl = requiredEnv('NATS_URL', 'nats://host:4222');

  const db = await Database.connect({
    url: databaseUrl,
    // Every process applies the same list under the migration lock, whichever starts first.
    migrations: [...eventStoreMigrations, ...readModelMigrations],
    applicationName: 'assay-scoring',
  });
  const store = new PostgresEventStore(db);
  const commands = new RunCommands(store, new RunQueries(db));
  const bus = await JetStreamBus.connect({ url: natsUrl.split(','), connectionName: 'assay-scoring', logger });

  const app = await bootstrapScoring({
    bus,
    metricsOfRun: (runId) => commands.metricsOfRun(runId),
    recordOutcomes: async (outcomes) => {
      await commands.recordOutcomes(outcomes);
    },
    logger,
    consumer,
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'scoring service stopping');
    try {
      await app.close(); // stops the consumer, waiting for the batches in flight
      await bus.close();
      await store.close();
      await db.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) }, 'scoring service did not stop cleanly');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

function requiredEnv(name: string, example: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new AssayError('BAD_USER_INPUT', `${name} is not set: the scoring service needs it, e.g. ${name}=${example}.`);
  return value;
}

main().catch((error) => {
  console.error(JSON.stringify({ level: 'fatal', name: 'scoring', msg: 'scoring service failed to start', error: error instanceof Error ? error.stack : String(error) }));
  process.exit(1);
});
