import { createTestDatabase, TestDatabase } from '@assay/testing';
import { Migration } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { Database } from './database';
import type { MigrationObject } from './migration-object';

/** Creating the same table twice fails, so this migration shows whether it ran more than once. */
class CreateWidgets extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table widgets (id bigserial primary key, name text not null)');
    // Slow enough that processes starting together really overlap.
    this.addSql('select pg_sleep(0.2)');
  }
}
const migrations: MigrationObject[] = [{ name: 'Test0001Widgets', class: CreateWidgets }];

describe('Database', () => {
  let testDb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await Database.connect({ url: testDb.url, migrations, applicationName: 'db-spec' });
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it('runs SQL with $n placeholders and parses int8 as number, xid8 as string, timestamptz as Date', async () => {
    const [row] = await db.query<{ n: number; big: string; xid: string; at: Date; doc: unknown }>(
      `select $1::int8 as n, '9007199254740993'::int8 as big, pg_current_xact_id() as xid, now() as at, $2::jsonb as doc`,
      [42, JSON.stringify({ a: [1] })],
    );
    expect(row.n).toBe(42);
    expect(row.big).toBe('9007199254740993');
    expect(typeof row.xid).toBe('string');
    expect(row.xid).toMatch(/^\d+$/);
    expect(row.at).toBeInstanceOf(Date);
    expect(row.doc).toEqual({ a: [1] });
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await db.transaction((tx) => tx.query(`insert into widgets (name) values ('kept')`));
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`insert into widgets (name) values ('discarded')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.query<{ name: string }>('select name from widgets order by id');
    expect(rows.map((r) => r.name)).toEqual(['kept']);
  });

  it('runs every query of a transaction on one connection', async () => {
    const pids = await db.transaction(async (tx) => {
      const a = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
      const b = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
      return [a[0].pid, b[0].pid];
    });
    expect(pids[0]).toBe(pids[1]);
  });

  it('refuses a COMMIT that PostgreSQL turned into a ROLLBACK', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`insert into widgets (name) values ('lost')`);
        await tx.query('select 1/0').catch(() => undefined); // the caller swallows the error
      }),
    ).rejects.toThrow(/rolled back/);
    expect(await db.query(`select 1 from widgets where name = 'lost'`)).toEqual([]);
  });

  it('refuses queries on a transaction handle after the transaction ended', async () => {
    let escaped: { query(text: string): Promise<unknown> } | undefined;
    await db.transaction(async (tx) => {
      escaped = tx;
    });
    await expect(escaped!.query('select 1')).rejects.toThrow(/over/);
  });

  it('sets idle_in_transaction_session_timeout on pooled connections', async () => {
    const [row] = await db.query<{ setting: string }>(`select current_setting('idle_in_transaction_session_timeout') as setting`);
    expect(row.setting).toBe('1min');
  });

  it('migrates once when several processes start together', async () => {
    const fresh = await createTestDatabase();
    const started = await Promise.all(
      Array.from({ length: 4 }, (_, i) => Database.connect({ url: fresh.url, migrations, applicationName: `starter-${i}`, poolMax: 2 })),
    );
    try {
      const [{ count }] = await started[0].query<{ count: number }>('select count(*) as count from mikro_orm_migrations');
      expect(count).toBe(1);
      expect(await started[1].migrate()).toEqual([]);
    } finally {
      await Promise.all(started.map((d) => d.close()));
      await fresh.drop();
    }
  });

  it('delivers notifications and keeps listening after the LISTEN connection is killed', async () => {
    const received: string[] = [];
    const unlisten = await db.listen('widgets_changed', (payload) => received.push(payload));

    await db.query(`select pg_notify('widgets_changed', 'first')`);
    await waitFor(() => received.includes('first'));

    const admin = new Client({ connectionString: testDb.url });
    await admin.connect();
    try {
      const killed = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'db-spec:listen' and datname = current_database()`,
      );
      expect(killed.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    // After a reconnect every handler is poked once (empty payload): notifications may have been missed.
    await waitFor(() => received.includes(''));
    await db.query(`select pg_notify('widgets_changed', 'second')`);
    await waitFor(() => received.includes('second'));

    await unlisten();
    await db.query(`select pg_notify('widgets_changed', 'third')`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).not.toContain('third');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
