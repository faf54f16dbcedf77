/**
 * The gateway as its own process: `PORT` (default 4000).
 *
 * TODO(lead): wire the real dependencies. @assay/runs does not export implementations of
 * RunCommandsApi / RunQueriesApi yet, nor @assay/bus a JetStream EventBus; once they do, build
 * them here (database pool, bus connection), pass a `readiness` check that pings both, and close
 * them after `app.close()`.
 */
import 'reflect-metadata';
import type { EventBus } from '@assay/bus';
import type { RunCommandsApi, RunQueriesApi } from '@assay/runs';
import { createGatewayApp } from './create-gateway-app';
import { createDefaultLogger } from './logger';

async function main(): Promise<void> {
  const logger = createDefaultLogger();
  const { commands, queries, bus, readiness, close } = await createDependencies();
  const app = await createGatewayApp({ commands, queries, bus, readiness, logger });
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 4000);
  await app.listen(port);
  logger.info({ port }, 'gateway listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping');
    await app.close();
    await close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

interface Dependencies {
  commands: RunCommandsApi;
  queries: RunQueriesApi;
  bus: EventBus;
  readiness: () => Promise<boolean>;
  close: () => Promise<void>;
}

async function createDependencies(): Promise<Dependencies> {
  // TODO(lead): replace with the real RunCommands / RunQueries (libs/runs) and the JetStream bus (libs/bus).
  throw new Error('gateway main: real dependencies are not wired yet (see TODO in services/gateway/src/main.ts)');
}

main().catch((error) => {
  // eslint-disable-next-line no-console
  console.error(JSON.stringify({ level: 'fatal', msg: 'gateway failed to start', error: error instanceof Error ? error.stack : String(error) }));
  process.exit(1);
});
