import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, ClientConfig } from 'pg';
import { advisoryLockKey, AdvisoryLockNamespace } from './advisory-lock';

const MIGRATION_LOCK = advisoryLockKey(AdvisoryLockNamespace.migrations, 'assay');

/**
 * Applies pending migrations once, even when several processes start at the same moment.
 *
 * The lock is a session advisory lock held on a connection of its own for the whole run:
 * MikroORM's Migrator creates its bookkeeping table and checks what is pending before it opens
 * its transaction, so a lock taken inside that transaction would come too late. A separate
 * connection also means a small pool cannot deadlock on itself. If this process dies, its
 * session ends and PostgreSQL releases the lock.
 *
 * Returns the names of the migrations this call applied.
 */
export async function runMigrations(orm: MikroORM, lockClientConfig: ClientConfig): Promise<string[]> {
  const lockClient = new Client(lockClientConfig);
  lockClient.on('error', () => undefined); // a drop surfaces as a failed query below
  await lockClient.connect();
  try {
    await lockClient.query('select pg_advisory_lock($1, $2)', [MIGRATION_LOCK.namespace, MIGRATION_LOCK.id]);
    const applied = await orm.getMigrator().up();
    return applied.map((migration) => migration.name);
  } finally {
    // Ending the session releases the lock too; unlocking first just lets the next one go sooner.
    await lockClient.query('select pg_advisory_unlock($1, $2)', [MIGRATION_LOCK.namespace, MIGRATION_LOCK.id]).catch(() => undefined);
    await lockClient.end().catch(() => undefined);
  }
}
