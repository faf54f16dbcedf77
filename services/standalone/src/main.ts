/**
 * `npm start`: all of Assay in one process, on an embedded PostgreSQL and the in-process bus.
 * The same modules as service mode (gateway, runs, scoring), composed here instead of in three
 * processes; the in-process bus follows the PostgreSQL log, so a crash loses nothing here either.
 */
import 'reflect-metadata';
import { resolve } from 'node:path';
import { ensureInitApiKey, initApiKeyFromEnv, issueFirstAdminKey } from '@assay/access';
import { InProcessBus } from '@assay/bus';
import { connectBackend } from '@assay/backend';
import { checkPortFree, exitOnStartupFailure, intEnv, listenOn, onShutdownSignal } from '@assay/runtime';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { backendDeps, createGatewayApp } from '@assay/gateway-service';
import { RunsModule } from '@assay/runs-service';
import { bootstrapExecution, bootstrapScoring } from '@assay/scoring-service';
import { startEmbeddedPostgres } from './embedded-postgres';

async function main(): Promise<void> {
  const logger = pino({ name: 'assay', level: process.env.LOG_LEVEL ?? 'info' });
  const log = (msg: string, extra: object = {}) => logger.info(extra, msg);
  const port = intEnv('PORT', 4000);
  const dataDir = resolve(process.env.ASSAY_DATA_DIR ?? '.assay-data');
  const initApiKey = initApiKeyFromEnv(); // a malformed ASSAY_INIT_API_KEY stops start-up here
  await checkPortFree('PORT', port); // and so does a port in use, before PostgreSQL starts

  const postgres = await startEmbeddedPostgres(dataDir, { info: log, error: (msg, extra = {}) => logger.error(extra, msg) });
  log('embedded PostgreSQL started', { dataDir });
  const backend = await connectBackend({ url: postgres.url, applicationName: 'assay' });
  if (initApiKey) await ensureInitApiKey(backend.access, initApiKey, log);
  const bus = new InProcessBus({ store: backend.store, pollIntervalMs: 250 });

  const runs = await NestFactory.createApplicationContext(RunsModule.forRoot({ db: backend.db, store: backend.store, bus }), { logger: false });
  await runs.init();
  const scoring = await bootstrapScoring({
    bus,
    metricsOfRun: (runId) => backend.runs.commands.metricsOfRun(runId),
    recordOutcomes: async (outcomes) => void (await backend.runs.commands.recordOutcomes(outcomes)),
    judge: await backend.judge(),
    rescoreVersions: (runIds) => backend.runs.commands.rescoreVersions(runIds),
  });
  await scoring.init();
  const execution = await bootstrapExecution({ bus, store: backend.store, llm: () => backend.llm() });
  const gateway = await createGatewayApp({
    ...backendDeps(backend),
    bus,
    readiness: () => backend.db.query('select 1').then(() => true),
  });
  await listenOn('PORT', port, () => gateway.listen(port));

  // First start (the database never had an admin key, and ASSAY_INIT_API_KEY is unset): make one
  // and print it, once. Made only now that the server listens, so a start that fails (port taken)
  // leaves it to the next one. Never logged: stdout only.
  const firstAdminKey = await issueFirstAdminKey(backend.access);

  const url = `http://localhost:${port}/graphql`;
  logger.info({ url, dataDir, firstAdminKeyPrinted: Boolean(firstAdminKey) }, 'Assay is running');
  // Plain lines for people: the URL to open, and on first start the admin key to call it with.
  const keyLine = firstAdminKey ? `Admin API key (shown only this once; store it now): ${firstAdminKey}\n` : '';
  process.stdout.write(`\nAssay is running at ${url}\n${keyLine}\n`);

  onShutdownSignal(async () => {
    await gateway.close();
    await scoring.close();
    await execution.close();
    await runs.close();
    await bus.close();
    await backend.close();
    await postgres.stop();
  }, log);
}

main().catch(exitOnStartupFailure('assay', 'Assay failed to start'));
