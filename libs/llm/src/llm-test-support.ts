import { Database } from '@assay/database';
import { createTestDatabase, OpenAIStub, OpenAIStubOptions, startOpenAIStub, TestDatabase } from '@assay/testing';
import { randomBytes } from 'node:crypto';
import { LlmClient } from './client/llm-client';
import type { ProviderInput } from './config/providers';
import { llmMigrations } from './governor/llm-migrations';

/**
 * For the specs and the benchmark: a fresh database, a stub, and `processes` independent
 * database connections, each standing for one Assay process (its own pool, its own LISTEN).
 */
export interface LlmTestEnv {
  readonly testDb: TestDatabase;
  readonly dbs: readonly Database[];
  readonly stub: OpenAIStub;
  /** One LlmClient per process, all with the same provider (a fresh name unless given). */
  clients(provider?: Partial<ProviderInput>, options?: { leaseMarginMs?: number }): Promise<LlmClient[]>;
  close(): Promise<void>;
}

export async function startLlmTestEnv(options: { processes?: number; stub?: OpenAIStubOptions } = {}): Promise<LlmTestEnv> {
  const testDb = await createTestDatabase('assay_llm');
  const dbs: Database[] = [];
  for (let i = 0; i < (options.processes ?? 2); i++) {
    dbs.push(await Database.connect({ url: testDb.url, migrations: llmMigrations, applicationName: `llm-process-${i}`, poolMax: 4 }));
  }
  const stub = await startOpenAIStub(options.stub);
  const opened: LlmClient[] = [];
  return {
    testDb,
    dbs,
    stub,
    async clients(provider = {}, clientOptions = {}) {
      const name = provider.name ?? `stub-${randomBytes(3).toString('hex')}`;
      const input: ProviderInput = { baseURL: stub.baseURL, maxConcurrency: 8, timeoutMs: 5_000, maxAttempts: 4, retryBaseMs: 100, retryMaxMs: 1_000, ...provider, name };
      const clients = await Promise.all(dbs.map((db) => LlmClient.connect({ db, providers: [input], leaseMarginMs: clientOptions.leaseMarginMs })));
      opened.push(...clients);
      return clients;
    },
    async close() {
      await Promise.all(opened.map((client) => client.close()));
      await stub.close();
      await Promise.all(dbs.map((db) => db.close()));
      await testDb.drop();
    },
  };
}
