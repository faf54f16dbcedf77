import type { INestApplication } from '@nestjs/common';
import { startAccessProjections } from '@assay/access';
import { Backend, connectBackend } from '@assay/backend';
import type { LogProcessor } from '@assay/event-store';
import { startRunProjections } from '@assay/runs';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { createGatewayApp } from '../src';
import { MemoryLogger } from './fakes';

export interface RealGateway {
  readonly database: TestDatabase;
  readonly backend: Backend;
  readonly processors: LogProcessor[];
  readonly app: INestApplication;
  /** http://127.0.0.1:<port> */
  readonly base: string;
  /** A project key each for projects a and b. */
  readonly keys: Record<'a' | 'b', string>;
  readonly projects: Record<'a' | 'b', string>;
  /** Until the run and access read models have caught up with the log. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real gateway over the real backend on a fresh PostgreSQL database, with the run and access
 * projections running and two projects, each with its own API key.
 */
export async function startRealGateway(label: string): Promise<RealGateway> {
  const database = await createTestDatabase(`assay_gw_${label}`);
  const backend = await connectBackend({ url: database.url, applicationName: `gateway-${label}-spec` });
  const { db, store } = backend;
  const processors = [startRunProjections({ db, store, bus: { broadcast: () => undefined }, pollIntervalMs: 50 }), startAccessProjections({ db, store })];
  const app = await createGatewayApp({
    commands: backend.runs.commands,
    queries: backend.runs.queries,
    access: backend.access,
    bus: { onBroadcast: () => () => undefined },
    logger: new MemoryLogger(),
  });
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const keys: Record<'a' | 'b', string> = { a: '', b: '' };
  const projects: Record<'a' | 'b', string> = { a: '', b: '' };
  for (const p of ['a', 'b'] as const) {
    projects[p] = (await backend.runs.commands.createProject({ name: `project ${p}` })).id;
    keys[p] = (await backend.access.createApiKey({ projectId: projects[p], name: p, createdByKeyId: null })).key;
  }
  return {
    database,
    backend,
    processors,
    app,
    base,
    keys,
    projects,
    settled: () => Promise.all(processors.map((p) => p.waitUntilCaughtUp())).then(() => undefined),
    async stop() {
      await app.close();
      await Promise.all(processors.map((p) => p.stop()));
      await backend.close();
      await database.drop();
    },
  };
}
