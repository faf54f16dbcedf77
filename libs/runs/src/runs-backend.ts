import { Database, MigrationObject } from '@assay/database';
import { eventStoreMigrations, PostgresEventStore } from '@assay/event-store';
import { RunCommands } from './commands/run-commands';
import { readModelMigrations } from './read-models/read-model-migrations';
import { RunQueries } from './read-models/run-queries';

/** Every migration of the database, in order: the event store first, then the read models. */
export const assayMigrations: readonly MigrationObject[] = [...eventStoreMigrations, ...readModelMigrations];

export interface RunsBackend {
  readonly db: Database;
  readonly store: PostgresEventStore;
  readonly queries: RunQueries;
  readonly commands: RunCommands;
  close(): Promise<void>;
}

/** Connects to PostgreSQL (migrating it if needed) and builds the command and query sides. */
export async function connectRunsBackend(options: { url: string; applicationName: string; poolMax?: number }): Promise<RunsBackend> {
  const db = await Database.connect({ url: options.url, migrations: assayMigrations, applicationName: options.applicationName, poolMax: options.poolMax });
  const store = new PostgresEventStore(db);
  const queries = new RunQueries(db);
  const commands = new RunCommands(store, queries);
  return {
    db,
    store,
    queries,
    commands,
    async close() {
      await store.close();
      await db.close();
    },
  };
}
