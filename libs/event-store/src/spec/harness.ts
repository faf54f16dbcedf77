import { Database, Sql } from '@assay/database';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { PostgresEventStore } from '../postgres-event-store';
import { eventStoreMigrations } from '../schema/migrations';
import type { NewEvent } from '../types';

/** A fresh database with the event store's schema, for one spec file. */
export interface Harness {
  readonly testDb: TestDatabase;
  readonly db: Database;
  readonly store: PostgresEventStore;
  /** Another process's view of the same database (its own pool and LISTEN connection). */
  connectAnother(): Promise<{ db: Database; store: PostgresEventStore }>;
  close(): Promise<void>;
}

export async function startHarness(poolMax = 20): Promise<Harness> {
  const testDb = await createTestDatabase('assay_es');
  const opened: { db: Database; store: PostgresEventStore }[] = [];
  const connect = async () => {
    const db = await Database.connect({ url: testDb.url, migrations: eventStoreMigrations, poolMax, applicationName: 'event-store-spec' });
    const pair = { db, store: new PostgresEventStore(db) };
    opened.push(pair);
    return pair;
  };
  const { db, store } = await connect();
  return {
    testDb,
    db,
    store,
    connectAnother: connect,
    async close() {
      for (const pair of opened) {
        await pair.store.close();
        await pair.db.close();
      }
      await testDb.drop();
    },
  };
}

export function events(count: number, type = 'TestHappened', from = 0): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({ type, data: { n: from + i } }));
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve function outside, to hold a transaction open until the test says so. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * Waits until every transaction that started before this call has ended, so everything committed
 * so far is readable by readAll. Transaction ids are cluster-wide: other test files (and other
 * people's test runs) on the same server can hold the horizon back for a moment. Never call it
 * while the test itself holds a writing transaction open.
 */
export async function logSettled(sql: Sql): Promise<void> {
  const [{ xmax }] = await sql.query<{ xmax: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as xmax');
  await waitFor(async () => {
    const [{ passed }] = await sql.query<{ passed: boolean }>('select pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 as passed', [xmax]);
    return passed;
  });
}
