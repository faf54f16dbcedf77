import { randomUUID } from 'node:crypto';
import { Database } from '@assay/database';
import { eventStoreMigrations, PostgresEventStore, type StoredEvent } from '@assay/event-store';
import { createTestDatabase, type TestDatabase } from '@assay/testing';

/** A fresh database with the event store's schema; `connectAnother` is a second process's view of it. */
export interface StoreHarness {
  readonly db: Database;
  readonly store: PostgresEventStore;
  connectAnother(): Promise<{ db: Database; store: PostgresEventStore }>;
  /**
   * The transactions holding back the log's read horizon, for timeout messages. The horizon
   * (pg_snapshot_xmin) is server-wide: an open writing transaction in ANY database of the server,
   * e.g. another suite's test database, hides newer events from every log reader until it ends.
   */
  horizonReport(): Promise<string>;
  /** Appends `count` events of `type`, `perAppend` per transaction (each append on its own stream). */
  append(type: string, count: number, perAppend?: number): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

export async function startStore(): Promise<StoreHarness> {
  const testDb: TestDatabase = await createTestDatabase('assay_bus');
  const opened: Array<{ db: Database; store: PostgresEventStore }> = [];
  const connect = async () => {
    const db = await Database.connect({ url: testDb.url, migrations: eventStoreMigrations, poolMax: 5, applicationName: 'bus-spec' });
    const pair = { db, store: new PostgresEventStore(db) };
    opened.push(pair);
    return pair;
  };
  const { db, store } = await connect();
  return {
    db,
    store,
    connectAnother: connect,
    async horizonReport() {
      const rows = await db.query<{ datname: string; pid: number; age: string; state: string; query: string }>(
        `select datname, pid, (now() - xact_start)::text as age, state, left(query, 80) as query
           from pg_stat_activity where backend_xid is not null and pid <> pg_backend_pid()
          order by xact_start limit 3`,
      );
      return rows.length === 0
        ? 'no open writing transaction on the server'
        : `oldest writing transactions on the server (they hold back every log reader): ${JSON.stringify(rows)}`;
    },
    async append(type, count, perAppend = 100) {
      const out: StoredEvent[] = [];
      for (let i = 0; i < count; i += perAppend) {
        const n = Math.min(perAppend, count - i);
        const result = await store.append([
          { streamId: `s-${randomUUID()}`, expectedVersion: 'no_stream', events: Array.from({ length: n }, (_, j) => ({ type, data: { i: i + j } })) },
        ]);
        out.push(...result.events);
      }
      return out;
    },
    async close() {
      for (const pair of opened) {
        await pair.store.close();
        await pair.db.close();
      }
      await testDb.drop();
    },
  };
}
