/**
 * The gateway as its own process (service mode): DATABASE_URL and NATS_URL must be set; PORT
 * (default 4000) is where GraphQL (HTTP and WebSocket), the CSV export and the health endpoints
 * listen. Stateless: run as many replicas as needed behind a load balancer (every replica
 * receives every live-update broadcast). The all-in-one process imports GatewayModule instead.
 * ASSAY_INIT_API_KEY (optional): an admin key to create at first start, for headless set-up;
 * a malformed value stops start-up.
 */
import 'reflect-metadata';
import { ensureInitApiKey, initApiKeyFromEnv } from '@assay/access';
import { JetStreamBus } from '@assay/bus';
import { connectBackend } from '@assay/backend';
import { checkPortFree, exitOnStartupFailure, intEnv, listenOn, onShutdownSignal, serviceEnv } from '@assay/runtime';
import { backendDeps } from './backend-deps';
import { createGatewayApp } from './create-gateway-app';
import { createDefaultLogger } from './logger';

async function main(): Promise<void> {
  const logger = createDefaultLogger();
  const env = serviceEnv('gateway');
  const port = intEnv('PORT', 4000);
  const initApiKey = initApiKeyFromEnv(); // before connecting: a malformed value fails fast
  await checkPortFree('PORT', port); // and so does a port in use
  const backend = await connectBackend({ url: env.databaseUrl, applicationName: 'assay-gateway' });
  if (initApiKey) await ensureInitApiKey(backend.access, initApiKey, (msg, extra) => logger.info(extra ?? {}, msg));
  const bus = await JetStreamBus.connect({ url: env.natsUrl, ...env.nats, connectionName: 'assay-gateway' });
  const app = await createGatewayApp({
    ...backendDeps(backend),
    bus,
    logger,
    // Ready when PostgreSQL answers a query and NATS a round trip.
    readiness: async () => {
      await Promise.all([backend.db.query('select 1'), bus.flush()]);
      return true;
    },
  });
  await listenOn('PORT', port, () => app.listen(port));
  logger.info({ port }, 'gateway listening');
  onShutdownSignal(
    async () => {
      await app.close(); // completes subscriptions, stops accepting requests
      await bus.close();
      await backend.close();
    },
    (msg, extra) => logger.info(extra ?? {}, msg),
  );
}

main().catch(exitOnStartupFailure('gateway', 'gateway failed to start'));
