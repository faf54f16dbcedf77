import { accessMigrations, ApiKeys } from '@assay/access';
import { Database, MigrationObject } from '@assay/database';
import { eventStoreMigrations, PostgresEventStore } from '@assay/event-store';
import { readModelMigrations, RunCommands, RunQueries } from '@assay/runs';

/**
 * The composition root of the server side: one Database, one event store, and every capability's
 * commands and queries built on them. Each service process (and the all-in-one process) connects
 * through here, so a new capability is wired once: its migrations go in `migrations`, its command
 * and query objects in `Backend`.
 */
export const migrations: readonly MigrationObject[] = [...eventStoreMigrations, ...readModelMigrations, ...accessMigrations];

export interface Backend {
  readonly db: Database;
  readonly store: PostgresEventStore;
  readonly runs: { readonly commands: RunCommands; readonly queries: RunQueries };
  /** API keys: authentication (from the keys' streams, cached ≤ 2 s) and key management. */
  readonly access: ApiKeys;
  close(): Promise<void>;
}

export async function connectBackend(options: { url: string; applicationName: string; poolMax?: number }): Promise<Backend> {
  const db = await Database.connect({ url: options.url, migrations, applicationName: options.applicationName, poolMax: options.poolMax });
  const store = new PostgresEventStore(db);
  const runQueries = new RunQueries(db);
  return {
    db,
    store,
    runs: { commands: new RunCommands(store, runQueries), queries: runQueries },
    access: new ApiKeys(store, db),
    async close() {
      await store.close();
      await db.close();
    },
  };
}
