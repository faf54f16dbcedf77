import type { INestApplication } from '@nestjs/common';
import { RUN_UPDATED_TOPIC, type RunQueriesApi } from '@assay/runs';
import { createGatewayApp } from '../src';
import { FakeBus, FakeRuns, MemoryLogger } from './fakes';
import { FakeAccess } from './fake-access';

export interface Booted {
  app: INestApplication;
  base: string;
  runs: FakeRuns;
  /** API keys; test helpers send TEST_ADMIN_KEY by default. */
  access: FakeAccess;
  bus: FakeBus;
  logger: MemoryLogger;
  setReady(ready: boolean | Error): void;
}

/** The real gateway app on an ephemeral port, over in-memory fakes; run changes are broadcast like the projector does. */
export async function boot(options: { queries?: (runs: FakeRuns) => RunQueriesApi } = {}): Promise<Booted> {
  const runs = new FakeRuns();
  const bus = new FakeBus();
  const logger = new MemoryLogger();
  const access = new FakeAccess((projectId) => runs.projects.has(projectId));
  runs.onRunChanged = (view) => bus.broadcast(`${RUN_UPDATED_TOPIC}.${view.id}`, view);
  let ready: boolean | Error = true;
  const app = await createGatewayApp({
    commands: runs,
    queries: options.queries ? options.queries(runs) : runs,
    access,
    bus,
    logger,
    readiness: async () => {
      if (ready instanceof Error) throw ready;
      return ready;
    },
  });
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, base, runs, access, bus, logger, setReady: (r) => (ready = r) };
}
