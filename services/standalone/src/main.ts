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
import { reconcilersFromEnv, RunsModule } from '@assay/runs-service';
import { bootstrapExecution, bootstrapScoring } from '@assay/scoring-service';
import { startEmbeddedPostgres } from './embedded-postgres';

/**
 * How to stop what has started, in reverse order on shutdown: the embedded PostgreSQL, started
 * first, stops last, once nothing uses it. (It runs in a process group of its own: a Ctrl-C
 * reaches only this process.)
 */
const running: (() => Promise<unknown>)[] = [];
let shuttingDown = false;

/** Records how to stop what has just started; a shutdown signal received meanwhile ends start-up here. */
function started(stop: () => Promise<unknown>): void {
  running.push(stop);
  if (shuttingDown) throw new Error('start-up interrupted by a shutdown signal');
}

async function stopRunning(): Promise<void> {
  let failure: unknown;
  while (running.length) await running.pop()!().catch((error: unknown) => (failure ??= error));
  if (failure) throw failure;
}

async function main(): Promise<void> {
  const logger = pino({ name: 'assay', level: process.env.LOG_LEVEL ?? 'info' });
  const log = (msg: string, extra: object = {}) => logger.info(extra, msg);
  const port = intEnv('PORT', 4000);
  const dataDir = resolve(process.env.ASSAY_DATA_DIR ?? '.assay-data');
  const initApiKey = initApiKeyFromEnv(); // a malformed ASSAY_INIT_API_KEY stops start-up here
  await checkPortFree('PORT', port); // and so does a port in use, before PostgreSQL starts

  // From here, SIGINT / SIGTERM / SIGHUP stop what has started, even mid-start: start-up ends at
  // its next step, then everything stops in reverse order.
  onShutdownSignal(async () => {
    shuttingDown = true;
    await startup.catch(() => undefined);
    await stopRunning();
  }, log);

  const postgres = await startEmbeddedPostgres(dataDir, { info: log, error: (msg, extra = {}) => logger.error(extra, msg) });
  started(() => postgres.stop());
  log('embedded PostgreSQL started', { dataDir });
  const backend = await connectBackend({ url: postgres.url, applicationName: 'assay' });
  started(() => backend.close());
  if (initApiKey) await ensureInitApiKey(backend.access, initApiKey, log);
  const bus = new InProcessBus({ store: backend.store, pollIntervalMs: 250 });
  started(() => bus.close());

  // The reconcilers publish again what a last delivery could not settle (the in-process bus delivers it anew).
  const startReconciler = reconcilersFromEnv({ db: backend.db, store: backend.store, bus, log });
  const runs = await NestFactory.createApplicationContext(RunsModule.forRoot({ db: backend.db, store: backend.store, bus, startReconciler }), { logger: false });
  started(() => runs.close());
  await runs.init();
  const scoring = await bootstrapScoring({
    bus,
    metricsOfRun: (runId) => backend.runs.commands.metricsOfRun(runId),
    recordOutcomes: async (outcomes) => void (await backend.runs.commands.recordOutcomes(outcomes)),
    judge: await backend.judge(),
    rescoreVersions: (runIds) => backend.runs.commands.rescoreVersions(runIds),
  });
  started(() => scoring.close());
  await scoring.init();
  const execution = await bootstrapExecution({ bus, store: backend.store, llm: () => backend.llm() });
  started(() => execution.close());
  const gateway = await createGatewayApp({
    ...backendDeps(backend),
    bus,
    readiness: () => backend.db.query('select 1').then(() => true),
  });
  started(() => gateway.close());
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
}

const startup = main();
startup.catch(async (error) => {
  if (shuttingDown) return; // a signal interrupted start-up: the shutdown stops what had started, then exits
  // Stop what had started, so the data folder is free for the next start when this process exits.
  await exitOnStartupFailure('assay', 'Assay failed to start', stopRunning)(error);
});
