import { LOG_START, LogPosition } from './types';
import { Harness, startHarness } from './spec/harness';

/**
 * Transaction ids gain a digit early in every server's life (999 → 1000, 9999 → 10000). The log
 * must be read in numeric xid order, never in the text order of its decimal form, or a reader's
 * checkpoint jumps over the smaller ids and their events are never delivered.
 */
describe('PostgresEventStore: readAll across transaction ids that gain a digit', () => {
  let h: Harness;
  const xids = ['99', '100', '999', '1000', '9999', '10000'];

  beforeAll(async () => {
    h = await startHarness();
    await moveTransactionIdsPast(10_000);
    // Rows as transactions with these ids would have written them (all long committed, so below
    // any reader's horizon); inserted with explicit ids because a test cannot choose its own xid.
    await h.db.query(
      `insert into assay_events (transaction_id, stream_id, stream_position, event_id, type, schema_version, data, metadata)
       select x.xid::xid8, 'digits-' || x.n, 1, gen_random_uuid(), case when x.n % 2 = 0 then 'Even' else 'Odd' end, 1,
              jsonb_build_object('xid', x.xid), '{}'::jsonb
       from unnest($1::text[]) with ordinality as x(xid, n)`,
      [xids],
    );
  });

  /**
   * The rows must sit below every reader's horizon, so the server's transaction ids must already
   * be past the largest of them: a freshly initialised server (a new CI machine) is not. Each
   * subtransaction that writes draws an id, so one DO block moves the counter along.
   */
  async function moveTransactionIdsPast(xid: number): Promise<void> {
    const [{ current }] = await h.db.query<{ current: string }>('select pg_current_xact_id()::text as current');
    const missing = xid + 1 - Number(current);
    if (missing <= 0) return;
    await h.db.transaction(async (tx) => {
      await tx.query('create temporary table xid_burn (i int) on commit drop');
      await tx.query(
        `do $$ begin
           for i in 1..${missing} loop
             begin insert into xid_burn values (i); exception when others then null; end;
           end loop;
         end $$`,
      );
    });
  }

  afterAll(async () => {
    await h?.close();
  });

  async function readOneByOne(types?: string[]): Promise<string[]> {
    const seen: string[] = [];
    let position: LogPosition = LOG_START;
    for (;;) {
      const { events, position: next } = await h.store.readAll({ after: position, limit: 1, types });
      if (events.length === 0) return seen;
      seen.push(...events.map((e) => (e.data as { xid: string }).xid));
      position = next;
    }
  }

  it('delivers every event once, in numeric transaction order', async () => {
    expect(await readOneByOne()).toEqual(xids);
  });

  it('a filtered reader skips nothing either', async () => {
    expect(await readOneByOne(['Odd'])).toEqual(['99', '999', '9999']);
    expect(await readOneByOne(['Even'])).toEqual(['100', '1000', '10000']);
  });
});
