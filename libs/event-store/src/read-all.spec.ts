import type { Sql } from '@assay/database';
import { comparePositions } from './read-all';
import { events, gate, Harness, logSettled, startHarness, waitFor } from './spec/harness';
import { LOG_START, LogPosition, StoredEvent } from './types';

/**
 * The global reader must never skip an event, whatever order transactions commit in. The tests
 * share one database; each starts reading where the log ended before it, so it sees only its own.
 * Where a test expects events to be readable, it first waits for transactions elsewhere on the
 * server to end (`settle`): they hold the horizon back too.
 */
describe('PostgresEventStore: readAll', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A reader that keeps its position, as a log processor would. */
  class Reader {
    position: LogPosition;
    received: StoredEvent[] = [];
    constructor(from: LogPosition, private readonly types?: string[]) {
      this.position = from;
    }
    async poll(limit = 100): Promise<readonly StoredEvent[]> {
      const { events: page, position } = await h.store.readAll({ after: this.position, limit, types: this.types });
      expect(comparePositions(position, this.position)).toBeGreaterThanOrEqual(0); // never goes back
      this.position = position;
      this.received.push(...page);
      return page;
    }
    async drain({ limit = 100, settle = true }: { limit?: number; settle?: boolean } = {}): Promise<void> {
      if (settle) await logSettled(h.db);
      while ((await this.poll(limit)).length === limit);
    }
  }

  /** The end of the log right now, so each test reads only its own events. */
  async function here(): Promise<LogPosition> {
    const reader = new Reader(LOG_START);
    await reader.drain({ limit: 1000 });
    return reader.position;
  }

  /** Appends in a transaction and keeps it open until `release()`. */
  async function openAppend(streamId: string, type = 'Slow'): Promise<{ release(): void; rollback(): void; done: Promise<unknown> }> {
    const hold = gate();
    const appended = gate();
    let fail = false;
    const done = h.db
      .transaction(async (tx: Sql) => {
        await h.store.append([{ streamId, expectedVersion: 'any', events: [{ type, data: { streamId } }] }], tx);
        appended.open();
        await hold.promise;
        if (fail) throw new Error('rolled back on purpose');
      })
      .catch((error: unknown) => error);
    await appended.promise;
    return {
      release: () => hold.open(),
      rollback: () => {
        fail = true;
        hold.open();
      },
      done,
    };
  }

  it('returns events in (transaction, position) order, in pages, strictly after the position', async () => {
    const reader = new Reader(await here());
    const first = await h.store.append([{ streamId: 'page-a', expectedVersion: 'any', events: events(5) }]);
    const second = await h.store.append([{ streamId: 'page-b', expectedVersion: 'any', events: events(3) }]);
    await logSettled(h.db);
    const page1 = await reader.poll(4);
    expect(page1.map((e) => e.eventId)).toEqual(first.events.slice(0, 4).map((e) => e.eventId));
    expect(reader.position).toEqual({ transactionId: first.events[3].transactionId, globalPosition: first.events[3].globalPosition });
    await reader.drain({ limit: 4 });
    expect(reader.received.map((e) => e.eventId)).toEqual([...first.events, ...second.events].map((e) => e.eventId));
    expect(await reader.poll()).toEqual([]);
    expect(reader.received[0]).toEqual(first.events[0]); // same shape as append returns
  });

  it('does not pass an open transaction that drew a lower position; delivers both events exactly once after it commits', async () => {
    const reader = new Reader(await here());
    // T1 draws the lower global position and stays open.
    const t1 = await openAppend('ooo-t1');
    // T2 draws a higher one and commits first.
    const t2 = await h.store.append([{ streamId: 'ooo-t2', expectedVersion: 'any', events: events(1) }]);
    expect(await h.store.readStream('ooo-t1')).toEqual([]); // not visible: T1 is open

    // A position-ordered reader would take T2's event now and move past T1's position for good.
    const [naive] = await h.db.query<{ global_position: number }>(
      `select global_position from assay_events where global_position > $1 order by global_position limit 1`,
      [reader.position.globalPosition],
    );
    expect(naive.global_position).toBe(t2.events[0].globalPosition);
    // This one waits: T1 is still running, so nothing at or above its transaction id is read.
    const held = await h.store.readAll({ after: reader.position, limit: 100 });
    expect(held.events).toEqual([]);
    expect(held.heldBack).toBe(true); // T2's committed event waits behind T1
    await reader.drain({ settle: false });
    expect(reader.received).toEqual([]);
    const beforeCommit = reader.position;

    t1.release();
    await t1.done;
    await reader.drain();
    const t1Stored = (await h.store.readStream('ooo-t1'))[0];
    expect(t1Stored.globalPosition).toBeLessThan(t2.events[0].globalPosition);
    expect(reader.received.map((e) => e.streamId)).toEqual(['ooo-t1', 'ooo-t2']);
    expect(reader.received.map((e) => e.eventId)).toEqual([t1Stored.eventId, t2.events[0].eventId]);
    expect(comparePositions(reader.position, beforeCommit)).toBeGreaterThan(0);
    const after = await h.store.readAll({ after: reader.position, limit: 100 });
    expect(after.heldBack).toBe(false);
    expect(BigInt(after.horizon)).toBeGreaterThan(BigInt(t2.events[0].transactionId));
  });

  it('delivers an earlier transaction that commits first, and a later one afterwards, each exactly once', async () => {
    const reader = new Reader(await here());
    // T_a gets its transaction id first but appends (draws its position) last.
    const hold = gate();
    const idTaken = gate();
    const appendedA = gate();
    const tA = h.db.transaction(async (tx) => {
      await tx.query('select pg_current_xact_id()'); // takes a transaction id now
      idTaken.open();
      await hold.promise;
      await h.store.append([{ streamId: 'ooo-a', expectedVersion: 'any', events: events(1) }], tx);
      appendedA.open();
    });
    await idTaken.promise;
    const tB = await openAppend('ooo-b'); // later transaction id, lower global position
    hold.open();
    await appendedA.promise;
    await tA; // T_a commits while T_b is open

    // T_a is below T_b's id, so readable now (once transactions elsewhere on the server end).
    await waitFor(async () => {
      await reader.drain({ settle: false });
      return reader.received.length > 0;
    });
    expect(reader.received.map((e) => e.streamId)).toEqual(['ooo-a']);
    tB.release();
    await tB.done;
    await reader.drain();
    expect(reader.received.map((e) => e.streamId)).toEqual(['ooo-a', 'ooo-b']);
    const [a, b] = reader.received;
    expect(a.globalPosition).toBeGreaterThan(b.globalPosition); // positions out of order, nothing lost
  });

  it('is not blocked by the hole a rolled-back transaction leaves', async () => {
    const reader = new Reader(await here());
    const doomed = await openAppend('hole-doomed');
    const after = await h.store.append([{ streamId: 'hole-kept', expectedVersion: 'any', events: events(1) }]);
    doomed.rollback();
    expect(await doomed.done).toBeInstanceOf(Error);

    await reader.drain();
    expect(reader.received.map((e) => e.streamId)).toEqual(['hole-kept']);
    expect(await h.store.readStream('hole-doomed')).toEqual([]);
    // The rolled-back row took a position: the log has a gap right before the kept event.
    const [{ gap }] = await h.db.query<{ gap: boolean }>(`select not exists (select 1 from assay_events where global_position = $1) as gap`, [
      after.events[0].globalPosition - 1,
    ]);
    expect(gap).toBe(true);
    const later = await h.store.append([{ streamId: 'hole-later', expectedVersion: 'any', events: events(1) }]);
    await reader.drain();
    expect(reader.received.map((e) => e.eventId)).toEqual([after.events[0].eventId, later.events[0].eventId]);
  });

  it('is not held back by an open transaction that has not written (like a processor holding its lock)', async () => {
    const reader = new Reader(await here());
    const hold = gate();
    const locked = gate();
    const idle = h.db.transaction(async (tx) => {
      await tx.query('select pg_try_advisory_xact_lock(1, 2)');
      locked.open();
      await hold.promise;
    });
    await locked.promise;
    await h.store.append([{ streamId: 'idle-tx', expectedVersion: 'any', events: events(1) }]);
    await reader.drain();
    expect(reader.received.map((e) => e.streamId)).toEqual(['idle-tx']);
    hold.open();
    await idle;
  });

  it('leaves out the payload keys a reader names, for the types it names only', async () => {
    const reader = new Reader(await here());
    await h.store.append([
      {
        streamId: 'omit-1',
        expectedVersion: 'any',
        events: [
          { type: 'Big', data: { id: 1, inputs: 'x'.repeat(5000), outputs: { long: true }, kept: [1, 2] } },
          { type: 'Other', data: { id: 2, inputs: 'stays' } },
        ],
      },
    ]);
    await logSettled(h.db);
    const { events: page } = await h.store.readAll({ after: reader.position, limit: 10, maxBytes: 1_000_000, omitFromData: { Big: ['inputs', 'outputs'] } });
    expect(page.map((e) => e.data)).toEqual([{ id: 1, kept: [1, 2] }, { id: 2, inputs: 'stays' }]);
    // The log itself is untouched.
    expect((await h.store.readStream('omit-1'))[0].data).toMatchObject({ inputs: 'x'.repeat(5000), outputs: { long: true } });
  });

  it('filters by type and still advances past the other types', async () => {
    const start = await here();
    const reader = new Reader(start, ['Wanted']);
    await h.store.append([
      {
        streamId: 'types-1',
        expectedVersion: 'any',
        events: [
          { type: 'Other', data: 1 },
          { type: 'Wanted', data: 2 },
          { type: 'Other', data: 3 },
          { type: 'Wanted', data: 4 },
          { type: 'Other', data: 5 },
        ],
      },
    ]);
    const end = await here();
    await reader.poll(1);
    expect(reader.received.map((e) => e.data)).toEqual([2]); // full page: position at that event
    await reader.poll(10);
    expect(reader.received.map((e) => e.data)).toEqual([2, 4]);
    expect(reader.position).toEqual(end); // past the trailing 'Other' as well

    // Nothing but other types: the position still moves, so they are not scanned again.
    await h.store.append([{ streamId: 'types-2', expectedVersion: 'any', events: events(3, 'Other') }]);
    await logSettled(h.db);
    const page = await reader.poll(10);
    expect(page).toEqual([]);
    expect(reader.position).toEqual(await here());
    expect(comparePositions(reader.position, end)).toBeGreaterThan(0);

    const none = await h.store.readAll({ after: start, limit: 10, types: [] });
    expect(none.events).toEqual([]);
    expect(none.position).toEqual(reader.position);
  });

  it('does not move a filtered reader past an open transaction either', async () => {
    const reader = new Reader(await here(), ['Wanted']);
    const open = await openAppend('types-open', 'Wanted');
    await h.store.append([{ streamId: 'types-after', expectedVersion: 'any', events: events(2, 'Other') }]);
    await reader.drain({ settle: false });
    expect(reader.received).toEqual([]);
    const stuck = reader.position;
    open.release();
    await open.done;
    await reader.drain();
    expect(reader.received.map((e) => e.streamId)).toEqual(['types-open']);
    expect(comparePositions(reader.position, stuck)).toBeGreaterThan(0);
  });

  it('a reader of sparse types is held back only by its own kind, not by per-record events', async () => {
    const start = await here();
    await logSettled(h.db); // no other transaction of this cluster older than the one below
    const open = await openAppend('sparse-open', 'ScoreRecorded');
    try {
      await h.store.append([{ streamId: 'dense-after', expectedVersion: 'any', events: events(3, 'RecordAdded') }]);
      // Committed records wait behind the open transaction: their readers look again soon; a
      // reader of sparse types has nothing waiting, so it need not.
      expect((await h.store.readAll({ after: start, limit: 10, types: ['RecordAdded'] })).heldBack).toBe(true);
      expect((await h.store.readAll({ after: start, limit: 10, types: ['Wanted'] })).heldBack).toBe(false);
      await h.store.append([{ streamId: 'sparse-after', expectedVersion: 'any', events: events(1, 'Wanted') }]);
      expect((await h.store.readAll({ after: start, limit: 10, types: ['Wanted'] })).heldBack).toBe(true);
    } finally {
      open.release();
      await open.done;
    }
    const reader = new Reader(start, ['Wanted']);
    await reader.drain();
    expect(reader.received.map((e) => e.streamId)).toEqual(['sparse-after']);
    const dense = new Reader(start, ['RecordAdded', 'ScoreRecorded']);
    await dense.drain();
    expect(dense.received.map((e) => e.streamId)).toEqual(['sparse-open', 'dense-after', 'dense-after', 'dense-after']);
  });

  it('stops at a byte budget, always reads at least one event, and skips nothing across pages', async () => {
    const start = await here();
    const big = 'x'.repeat(2_000);
    const appended = await h.store.append([
      { streamId: 'bytes-1', expectedVersion: 'any', events: Array.from({ length: 8 }, (_, i) => ({ type: 'Sized', data: { i, big } })) },
    ]);
    await logSettled(h.db);
    const [{ three }] = await h.db.query<{ three: number }>(
      `select sum(pg_column_size(data))::int as three from assay_events where event_id = any($1::uuid[])`,
      [appended.events.slice(0, 3).map((e) => e.eventId)],
    );

    const page = await h.store.readAll({ after: start, limit: 100, maxBytes: three });
    expect(page.events.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2]);
    expect(page.full).toBe(true); // cut by the budget: more may follow at once

    const tiny = await h.store.readAll({ after: start, limit: 100, maxBytes: 1 });
    expect(tiny.events.map((e) => (e.data as { i: number }).i)).toEqual([0]); // one event, whatever its size

    const seen: number[] = [];
    let position = start;
    for (;;) {
      const next = await h.store.readAll({ after: position, limit: 100, maxBytes: three, types: ['Sized'] });
      seen.push(...next.events.map((e) => (e.data as { i: number }).i));
      position = next.position;
      if (!next.full) break;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('rejects a non-positive limit', async () => {
    await expect(h.store.readAll({ after: LOG_START, limit: 0 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('saves and loads checkpoints, in a transaction or not', async () => {
    const position = await here();
    await h.store.saveCheckpoint('reader-1', position);
    expect(await h.store.loadCheckpoint('reader-1')).toEqual(position);
    await h.db.transaction(async (tx) => {
      await h.store.saveCheckpoint('reader-1', LOG_START, tx);
      expect(await h.store.loadCheckpoint('reader-1', tx)).toEqual(LOG_START);
      expect(await h.store.loadCheckpoint('reader-1')).toEqual(position); // not committed yet
    });
    expect(await h.store.loadCheckpoint('reader-1')).toEqual(LOG_START);
  });
});
