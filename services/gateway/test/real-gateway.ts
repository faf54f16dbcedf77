import type { INestApplication } from '@nestjs/common';
import { startAccessProjections } from '@assay/access';
import { Backend, connectBackend } from '@assay/backend';
import type { LogProcessor } from '@assay/event-store';
import { startRunProjections } from '@assay/runs';
import { startSystemProjections } from '@assay/systems';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { startTestsetProjections } from '@assay/testsets';
import { backendDeps, createGatewayApp } from '../src';
import { MemoryLogger } from './fakes';

export interface RealGatewayOptions {
  /** How often the run, testset and system projections poll the log. Default 50 ms. */
  readonly pollIntervalMs?: number;
}

export interface RealGateway {
  readonly database: TestDatabase;
  readonly backend: Backend;
  readonly processors: LogProcessor[];
  readonly app: INestApplication;
  /** http://127.0.0.1:<port> */
  readonly base: string;
  /** An admin key (no project). */
  readonly admin: string;
  /** A project key each for projects a and b. */
  readonly keys: Record<'a' | 'b', string>;
  /** The ids of those keys (what a score's scoredBy names). */
  readonly keyIds: Record<'a' | 'b', string>;
  readonly projects: Record<'a' | 'b', string>;
  /** Until the read models have caught up with the log. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real gateway over the real backend on a fresh PostgreSQL database, with every dependency the
 * backend offers wired in (testsets, systems, execution, review, history), the run, access,
 * testset and system projections running, an admin key and two projects, each with its own API key.
 * The backend's LLM client (execution, the playground) takes its provider from the environment
 * (OPENAI_BASE_URL and the like): set those before calling this.
 */
export async function startRealGateway(label: string, options: RealGatewayOptions = {}): Promise<RealGateway> {
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  const database = await createTestDatabase(`assay_gw_${label}`);
  const backend = await connectBackend({ url: database.url, applicationName: `gateway-${label}-spec` });
  const { db, store } = backend;
  const processors = [
    startRunProjections({ db, store, bus: { broadcast: () => undefined }, pollIntervalMs }),
    startAccessProjections({ db, store }),
    startTestsetProjections({ db, store, pollIntervalMs }),
    startSystemProjections({ db, store, pollIntervalMs }),
  ];
  const app = await createGatewayApp({
    ...backendDeps(backend),
    bus: { onBroadcast: () => () => undefined },
    logger: new MemoryLogger(),
  });
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const admin = (await backend.access.createApiKey({ projectId: null, name: 'admin', createdByKeyId: null })).key;
  const keys: Record<'a' | 'b', string> = { a: '', b: '' };
  const keyIds: Record<'a' | 'b', string> = { a: '', b: '' };
  const projects: Record<'a' | 'b', string> = { a: '', b: '' };
  for (const p of ['a', 'b'] as const) {
    projects[p] = (await backend.runs.commands.createProject({ name: `project ${p}` })).id;
    ({ key: keys[p], id: keyIds[p] } = await backend.access.createApiKey({ projectId: projects[p], name: p, createdByKeyId: null }));
  }
  return {
    database,
    backend,
    processors,
    app,
    base,
    admin,
    keys,
    keyIds,
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

/**
 * startRealGateway in this describe block's beforeAll, stopped in its afterAll. The answer is
 * filled in when beforeAll has run: read its fields in hooks and tests, not while declaring them.
 */
export function useRealGateway(label: string, options: RealGatewayOptions = {}): RealGateway {
  const gateway = {} as RealGateway;
  let started: RealGateway | undefined;
  beforeAll(async () => {
    started = await startRealGateway(label, options);
    Object.assign(gateway, started);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return gateway;
}
