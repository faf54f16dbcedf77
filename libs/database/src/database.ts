import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { Knex } from '@mikro-orm/postgresql';
import type { ClientBase, ClientConfig, QueryResult } from 'pg';
import { runMigrations } from './migrate';
import type { MigrationObject } from './migration-object';
import { NotificationHandler, NotificationListener } from './notification-listener';
import { queryTypes } from './pg-types';
import type { Sql } from './sql';

export interface DatabaseOptions {
  /** postgres://user:password@host:port/database?… */
  readonly url: string;
  /** Every library's migrations, concatenated in the order they must run. */
  readonly migrations: readonly MigrationObject[];
  /** Most pooled connections (default 10). LISTEN uses one more, outside the pool. */
  readonly poolMax?: number;
  /** Shown in pg_stat_activity (default "assay"). */
  readonly applicationName?: string;
  /** Run pending migrations before `connect` resolves (default true). */
  readonly migrate?: boolean;
  /**
   * Server-side backstop for a transaction left open by a bug: PostgreSQL ends the session after
   * this long idle inside a transaction (default 60 s). Readers of the global log wait for every
   * open transaction, so one forgotten transaction would otherwise stall them all.
   */
  readonly idleInTransactionTimeoutMs?: number;
}

/** A pg client as knex's pool hands it out; `__knex__disposed` makes the pool discard it. */
type PooledClient = ClientBase & { __knex__disposed?: unknown };

/**
 * PostgreSQL access for Assay, through MikroORM's connection (no entities: Assay's tables are
 * written with SQL). Raw SQL runs on pg clients borrowed from MikroORM's knex pool, so it keeps
 * PostgreSQL's own `$1` placeholders and pg's types instead of going through knex's `?` bindings.
 */
export class Database implements Sql {
  private constructor(
    readonly orm: MikroORM,
    private readonly listener: NotificationListener,
    private readonly dedicatedClientConfig: (role: string) => ClientConfig,
  ) {}

  static async connect(options: DatabaseOptions): Promise<Database> {
    const applicationName = options.applicationName ?? 'assay';
    const idleTimeout = options.idleInTransactionTimeoutMs ?? 60_000;
    const orm = await MikroORM.init({
      driver: PostgreSqlDriver,
      clientUrl: options.url,
      entities: [],
      discovery: { warnWhenNoEntities: false },
      extensions: [Migrator],
      migrations: {
        migrationsList: [...options.migrations],
        snapshot: false, // no snapshot files: migrations are written by hand, not diffed from entities
        silent: true,
        transactional: true,
        allOrNothing: true,
      },
      pool: { min: 0, max: options.poolMax ?? 10 },
      driverOptions: {
        connection: {
          // The full URL, so options MikroORM does not copy over (sslmode…) still apply.
          connectionString: options.url,
          application_name: applicationName,
          idle_in_transaction_session_timeout: idleTimeout,
        },
      },
      debug: false,
    });
    // Connections outside the pool, for work that holds a session: LISTEN, the migration lock.
    const dedicatedClientConfig = (role: string): ClientConfig => ({ connectionString: options.url, application_name: `${applicationName}:${role}` });
    const listener = new NotificationListener({
      clientConfig: dedicatedClientConfig('listen'),
      onError: (error) => logDatabaseError('LISTEN connection lost; reconnecting', error),
    });
    const db = new Database(orm, listener, dedicatedClientConfig);
    try {
      if (options.migrate ?? true) await db.migrate();
    } catch (error) {
      await db.close();
      throw error;
    }
    return db;
  }

  query<R = any>(text: string, params?: readonly unknown[]): Promise<R[]> {
    return this.withClient((client) => runQuery<R>(client, text, params));
  }

  /**
   * Runs `fn` in one transaction on one connection: COMMIT if it resolves, ROLLBACK if it throws.
   * Keep it short: while it holds a transaction id, readers of the global log wait for it.
   */
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await runQuery(client, 'BEGIN');
      const tx = new TransactionSql(client);
      try {
        const result = await fn(tx);
        const commit = await client.query('COMMIT');
        // COMMIT of a transaction that already failed (an error the callback caught and ignored)
        // does not raise: PostgreSQL answers ROLLBACK. Nothing was saved, so say so.
        if (commit.command === 'ROLLBACK') throw new Error('Transaction was rolled back: a statement inside it failed');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          // Unknown transaction state: never hand this connection to anyone else.
          client.__knex__disposed ??= rollbackError;
        });
        throw error;
      } finally {
        tx.end();
      }
    });
  }

  /**
   * Runs pending migrations. A session advisory lock makes processes that start together take
   * turns: the first migrates, the others then find nothing pending.
   */
  migrate(): Promise<string[]> {
    return runMigrations(this.orm, this.dedicatedClientConfig('migrate'));
  }

  /** LISTEN on `channel` (dedicated connection, reconnects if dropped). Returns the UNLISTEN. */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    return this.listener.listen(channel, handler);
  }

  async close(): Promise<void> {
    await this.listener.close();
    await this.orm.close(true);
  }

  private knex(): Knex {
    return this.orm.em.getConnection().getKnex();
  }

  private async withClient<T>(fn: (client: PooledClient) => Promise<T>): Promise<T> {
    const pool = this.knex().client;
    const client: PooledClient = await pool.acquireConnection();
    try {
      return await fn(client);
    } catch (error) {
      // A connection that broke (server-side timeout, network) goes back marked, so the pool
      // drops it instead of handing it to the next caller.
      if (isConnectionError(error)) client.__knex__disposed ??= error;
      throw error;
    } finally {
      await pool.releaseConnection(client);
    }
  }
}

/** The transaction handle: every query on the transaction's connection, refused once it is over. */
class TransactionSql implements Sql {
  private done = false;

  constructor(private readonly client: ClientBase) {}

  query<R = any>(text: string, params?: readonly unknown[]): Promise<R[]> {
    if (this.done) return Promise.reject(new Error('This transaction is over: query it inside the transaction callback only'));
    return runQuery<R>(this.client, text, params);
  }

  end(): void {
    this.done = true;
  }
}

async function runQuery<R>(client: ClientBase, text: string, params?: readonly unknown[]): Promise<R[]> {
  const result: QueryResult = await client.query({ text, values: params ? [...params] : undefined, types: queryTypes });
  return result.rows as R[];
}

/** Errors after which the connection is unusable (as opposed to an SQL error on a healthy one). */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  // Class 08: connection exception; 57P01-03: admin shutdown / crash / cannot connect now.
  // 25P03: idle_in_transaction_session_timeout ended the session.
  if (typeof code === 'string') return code.startsWith('08') || code.startsWith('57P') || code === '25P03';
  return /Connection terminated|ECONNRESET|EPIPE|not queryable/i.test(error.message);
}

function logDatabaseError(msg: string, error: unknown): void {
  const detail = error instanceof Error ? { error: error.message, code: (error as { code?: unknown }).code } : { error: String(error) };
  process.stderr.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), lib: '@assay/database', msg, ...detail })}\n`);
}
