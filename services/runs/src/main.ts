import 'reflect-metadata';
import { JetStreamBus, startRelay } from '@assay/bus';
import { connectBackend } from '@assay/backend';
import { exitOnStartupFailure, intEnv, listenOn, onShutdownSignal, serviceEnv, startHealthServer } from '@assay/runtime';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { reconcilersFromEnv } from './reconcilers';
import { RunsModule } from './runs.module';
import { relayEventTypes } from './relay-event-types';
import { runsRoles } from './runs-roles';

/** The runs service as its own process: projections, the relay to JetStream and the reconcilers (ASSAY_RUNS_ROLES picks). */
async function main(): Promise<void> {
  const logger = pino({ name: 'runs', level: process.env.LOG_LEVEL ?? 'info' });
  const env = serviceEnv('runs');
  // Settings first: a bad one stops the process before it connects to anything.
  const roles = runsRoles(process.env);
  const relayed = relayEventTypes(process.env);
  if (roles.has('relay') && relayed.missingConsumed.length > 0) {
    logger.warn({ missing: relayed.missingConsumed }, 'ASSAY_RELAY_EVENT_TYPES leaves out types Assay workers consume: those workers will get no work');
  }
  // The health server first: a HEALTH_PORT in use stops the process before it connects or starts any work.
  // /readyz answers 503 until the service has started.
  let ready = async () => false;
  const healthPort = intEnv('HEALTH_PORT', 0);
  const health = healthPort ? await listenOn('HEALTH_PORT', healthPort, () => startHealthServer(healthPort, () => ready())) : undefined;
  const backend = await connectBackend({ url: env.databaseUrl, applicationName: 'assay-runs' });
  const bus = await JetStreamBus.connect({ url: env.natsUrl, ...env.nats, connectionName: 'assay-runs' });
  const app = await NestFactory.createApplicationContext(
    RunsModule.forRoot({
      db: backend.db,
      store: backend.store,
      bus,
      project: roles.has('projections'),
      startRelay: roles.has('relay') ? () => startRelay({ store: backend.store, db: backend.db, bus, types: relayed.types }) : undefined,
      // Records lacking a score, and kicked-off runs lacking executions (issue 4).
      startReconciler: roles.has('reconcile')
        ? reconcilersFromEnv({ db: backend.db, store: backend.store, bus, log: (msg, extra) => logger.info(extra ?? {}, msg) })
        : undefined,
    }),
    { logger: false },
  );
  await app.init();
  ready = () => backend.db.query('select 1').then(() => true);
  logger.info({ healthPort: healthPort || undefined }, 'runs service started');
  onShutdownSignal(async () => {
    health?.close();
    await app.close();
    await bus.close();
    await backend.close();
  }, (msg, extra) => logger.info(extra ?? {}, msg));
}

main().catch(exitOnStartupFailure('runs', 'runs service failed to start'));
