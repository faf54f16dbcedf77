import { advisoryLockKey, AdvisoryLockNamespace, type Sql } from '@assay/database';
import { startLogProcessor, LogProcessorOptions } from './log-processor';
import { events, gate, Harness, logSettled, sleep, startHarness, waitFor } from './spec/harness';
import type { StoredEvent } from './types';

describe('startLogProcessor', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    // A projection: one row per handled event and processor. No unique key, so a duplicate
    // delivery would show up as a second row instead of failing the batch.
    await h.db.query(`create table handled (processor text not null, event_id uuid not null, global_position bigint not null)`);
  });
  afterAll(async () => {
    await h?.close();
  });

  const project = (processor: string) => async (batch: StoredEvent[], tx: Sql) => {
    await tx.query(
      `insert into handled (processor, event_id, global_position) select $1, e.id, e.pos from unnest($2::uuid[], $3::bigint[]) as e(id, pos)`,
      [processor, batch.map((e) => e.eventId), batch.map((e) => e.globalPosition)],
    );
  };

  async function handledBy(processor: string): Promise<{ event_id: string; count: number }[]> {
    return h.db.query(`select event_id, count(*) as count from handled where processor = $1 group by event_id`, [processor]);
  }

  async function appendMany(streamPrefix: string, total: number, perCall = 7): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < total; i += perCall) {
      const result = await h.store.append([{ streamId: `${streamPrefix}-${i}`, expectedVersion: 'any', events: events(Math.min(perCall, total - i)) }]);
      ids.push(...result.events.map((e) => e.eventId));
    }
    return ids;
  }

  /** Each test's processor starts where the log ends now, so it sees only that test's events. */
  async function startAtEnd(name: string): Promise<void> {
    await logSettled(h.db);
    const end = await h.store.readAll({ after: { transactionId: '0', globalPosition: 0 }, limit: 100_000 });
    await h.store.saveCheckpoint(name, end.position);
  }

  /** A transaction that has written (so holds the horizon) but appends nothing, open until `end`. */
  async function openWritingTransaction(): Promise<{ end(): Promise<void> }> {
    const hold = gate();
    const wrote = gate();
    const done = h.db.transaction(async (tx) => {
      await tx.query(`insert into handled (processor, event_id, global_position) values ('blocker', gen_random_uuid(), 0)`);
      wrote.open();
      await hold.promise;
    });
    await wrote.promise;
    return {
      async end() {
        hold.open();
        await done;
      },
    };
  }

  function options(name: string, overrides: Partial<LogProcessorOptions> = {}): LogProcessorOptions {
    return { name, batchSize: 10, pollIntervalMs: 50, handle: project(name), ...overrides };
  }

  it('a standby is not caught up while an event of its types lies beyond a window of other events', async () => {
    const name = 'standby-window';
    await startAtEnd(name);
    for (let i = 0; i < 3; i++) await h.store.append([{ streamId: `standby-noise-${i}`, expectedVersion: 'any', events: events(4_000, 'Noise') }]);
    await h.store.append([{ streamId: 'standby-wanted', expectedVersion: 'any', events: events(1, 'Wanted') }]);
    await logSettled(h.db);
    // Another replica holds the processor's lock, as while it runs a round: this one is a standby.
    // (The lock holder writes nothing, so it holds no transaction id and no reader back.)
    const lock = advisoryLockKey(AdvisoryLockNamespace.logProcessor, name);
    const held = gate();
    const release = gate();
    const holder = h.db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1, $2)', [lock.namespace, lock.id]);
      held.open();
      await release.promise;
    });
    await held.promise;
    const standby = startLogProcessor(h.store, h.db, options(name, { types: ['Wanted'] }));
    try {
      let caughtUp = false;
      const waiting = standby.waitUntilCaughtUp().then(() => (caughtUp = true));
      await sleep(500); // ten of its rounds: each reads 10,000 Noise events past the checkpoint, and no Wanted
      expect(caughtUp).toBe(false);

      release.open();
      await holder;
      await waiting; // now it holds the lock and handles the Wanted event
      expect((await handledBy(name)).map((row) => Number(row.count))).toEqual([1]);
    } finally {
      release.open();
      await holder;
      await standby.stop();
    }
  });

  it('resumes from its checkpoint: a stopped processor and its successor handle every event exactly once', async () => {
    const name = 'resume';
    await startAtEnd(name);
    const ids = await appendMany('resume', 95);
    await logSettled(h.db); // all 95 readable from the first round on
    let batches = 0;
    const firstHandled: string[] = [];
    const first = startLogProcessor(h.store, h.db, options(name, {
      handle: async (batch, tx) => {
        await project(name)(batch, tx);
        firstHandled.push(...batch.map((e) => e.eventId));
        if (++batches === 3) void first.stop(); // stop mid-log; the current batch still commits
      },
    }));
    await waitFor(() => batches >= 3);
    await first.stop();
    expect(firstHandled).toHaveLength(30); // three full batches, then it stopped
    const checkpoint = await h.store.loadCheckpoint(name);
    const lastOfFirst = (await h.store.readAll({ after: { transactionId: '0', globalPosition: 0 }, limit: 100_000 })).events.find(
      (e) => e.eventId === firstHandled[firstHandled.length - 1],
    )!;
    expect(checkpoint).toEqual({ transactionId: lastOfFirst.transactionId, globalPosition: lastOfFirst.globalPosition });

    const secondHandled: string[] = [];
    const second = startLogProcessor(h.store, h.db, options(name, {
      handle: async (batch, tx) => {
        await project(name)(batch, tx);
        secondHandled.push(...batch.map((e) => e.eventId));
      },
    }));
    await second.waitUntilCaughtUp();
    await second.stop();

    expect(secondHandled[0]).toBe(ids[30]); // picks up right after the checkpoint
    expect([...firstHandled, ...secondHandled]).toEqual(ids);
    const rows = await handledBy(name);
    expect(rows).toHaveLength(95);
    expect(rows.every((r) => r.count === 1)).toBe(true);
  });

  it('handles each event exactly once when two processors with the same name run at once', async () => {
    const name = 'pair';
    await startAtEnd(name);
    const seenBy = { a: [] as string[], b: [] as string[] };
    const make = (who: 'a' | 'b') =>
      startLogProcessor(h.store, h.db, options(name, {
        batchSize: 5,
        pollIntervalMs: 20,
        handle: async (batch, tx) => {
          await project(name)(batch, tx);
          seenBy[who].push(...batch.map((e) => e.eventId));
          await sleep(2); // give the other replica a chance to try the lock meanwhile
        },
      }));
    const a = make('a');
    const b = make('b');
    // Appends keep arriving while both run, including from another "process".
    const other = await h.connectAnother();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const store = i % 2 ? h.store : other.store;
      const result = await store.append([{ streamId: `pair-${i % 5}`, expectedVersion: 'any', events: events(5) }]);
      ids.push(...result.events.map((e) => e.eventId));
    }
    await Promise.all([a.waitUntilCaughtUp(), b.waitUntilCaughtUp()]);
    await Promise.all([a.stop(), b.stop()]);

    const rows = await handledBy(name);
    expect(rows).toHaveLength(200);
    expect(rows.every((r) => r.count === 1)).toBe(true);
    expect(new Set([...seenBy.a, ...seenBy.b])).toEqual(new Set(ids));
    expect(seenBy.a.length + seenBy.b.length).toBe(200);
  });

  it('commits the projection and the checkpoint together: a failing batch is rolled back and retried', async () => {
    const name = 'flaky';
    await startAtEnd(name);
    const ids = await appendMany('flaky', 25);
    const errors: unknown[] = [];
    let calls = 0;
    const processor = startLogProcessor(h.store, h.db, options(name, {
      onError: (error) => errors.push(error),
      handle: async (batch, tx) => {
        await project(name)(batch, tx); // written, then undone by the failure below
        if (++calls === 2) throw new Error('downstream hiccup');
      },
    }));
    await processor.waitUntilCaughtUp();
    await processor.stop();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('downstream hiccup');
    const rows = await handledBy(name);
    expect(rows.map((r) => r.event_id).sort()).toEqual([...ids].sort());
    expect(rows.every((r) => r.count === 1)).toBe(true);
  });

  it('only hands over the requested types, and its checkpoint moves past the others', async () => {
    const name = 'typed';
    await startAtEnd(name);
    const before = await h.store.append([{ streamId: 'typed-0', expectedVersion: 'any', events: events(3, 'Ignored') }]);
    const wanted = await h.store.append([
      { streamId: 'typed-1', expectedVersion: 'any', events: [...events(2, 'Wanted'), ...events(4, 'Ignored'), ...events(1, 'Wanted')] },
    ]);
    const got: StoredEvent[] = [];
    const processor = startLogProcessor(h.store, h.db, options(name, {
      types: ['Wanted'],
      batchSize: 2,
      handle: async (batch) => {
        got.push(...batch);
      },
    }));
    await processor.waitUntilCaughtUp();
    await processor.stop();
    expect(got.map((e) => e.type)).toEqual(['Wanted', 'Wanted', 'Wanted']);
    expect(got.map((e) => e.eventId)).toEqual(wanted.events.filter((e) => e.type === 'Wanted').map((e) => e.eventId));
    const checkpoint = await h.store.loadCheckpoint(name);
    const last = wanted.events[wanted.events.length - 1];
    expect(checkpoint.globalPosition).toBeGreaterThanOrEqual(last.globalPosition);
    expect(before.events.every((e) => e.globalPosition < checkpoint.globalPosition)).toBe(true);
  });

  it('wakes up on appends from another process instead of waiting for the poll interval', async () => {
    const name = 'wakeful';
    await startAtEnd(name);
    const got: StoredEvent[] = [];
    const processor = startLogProcessor(h.store, h.db, options(name, { pollIntervalMs: 60_000, handle: async (batch) => void got.push(...batch) }));
    await processor.waitUntilCaughtUp(); // now asleep for up to a minute
    const other = await h.connectAnother();
    const startedAt = Date.now();
    const appended = await other.store.append([{ streamId: 'wake-1', expectedVersion: 'any', events: events(1) }]);
    await waitFor(() => got.length === 1, 5_000);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(got[0].eventId).toBe(appended.events[0].eventId);
    await processor.stop();
  });

  it('wakes for an append that includes its types; the hint names the types appended', async () => {
    const name = 'typed-wake';
    await startAtEnd(name);
    const got: StoredEvent[] = [];
    const processor = startLogProcessor(h.store, h.db, options(name, { types: ['Wanted'], pollIntervalMs: 60_000, handle: async (batch) => void got.push(...batch) }));
    await processor.waitUntilCaughtUp();
    const other = await h.connectAnother();
    const hints: (ReadonlySet<string> | undefined)[] = [];
    const unsubscribe = h.store.onAppended((types) => hints.push(types));
    await other.store.append([{ streamId: 'typed-wake-1', expectedVersion: 'any', events: events(2, 'Ignored') }]);
    await other.store.append([{ streamId: 'typed-wake-2', expectedVersion: 'any', events: [...events(1, 'Ignored'), ...events(1, 'Wanted')] }]);
    await waitFor(() => got.length === 1, 5_000);
    unsubscribe();
    await processor.stop();
    expect(got.map((e) => e.type)).toEqual(['Wanted']);
    expect(hints.map((types) => [...(types ?? [])])).toEqual(expect.arrayContaining([['Ignored'], ['Ignored', 'Wanted']]));
  });

  it('finishes the batch in progress when stopped', async () => {
    const name = 'graceful';
    await startAtEnd(name);
    await appendMany('graceful', 5);
    const inHandle = gate();
    const release = gate();
    let handled = 0;
    const processor = startLogProcessor(h.store, h.db, options(name, {
      handle: async (batch, tx) => {
        inHandle.open();
        await release.promise;
        await project(name)(batch, tx);
        handled += batch.length;
      },
    }));
    await inHandle.promise;
    const stopped = processor.stop();
    release.open();
    await stopped;
    expect(handled).toBeGreaterThan(0);
    const rows = await handledBy(name);
    expect(rows).toHaveLength(handled);
    const checkpoint = await h.store.loadCheckpoint(name);
    expect(checkpoint.globalPosition).toBeGreaterThan(0);
    await expect(processor.waitUntilCaughtUp()).rejects.toThrow(/stopped/);
  });
  it('picks up events held back by a transaction that appended nothing, without waiting for the poll interval', async () => {
    const name = 'held-back';
    await startAtEnd(name);
    const got: StoredEvent[] = [];
    const processor = startLogProcessor(h.store, h.db, options(name, { pollIntervalMs: 60_000, handle: async (batch) => void got.push(...batch) }));
    await processor.waitUntilCaughtUp();
    // A writing transaction that appends nothing (so it will send no NOTIFY) opens first...
    const blocker = await openWritingTransaction();
    // ...then an append commits: its NOTIFY wakes the processor, but the event is held back.
    const appended = await h.store.append([{ streamId: 'held-1', expectedVersion: 'any', events: events(1) }]);
    await sleep(100);
    expect(got).toEqual([]);
    await blocker.end();
    await waitFor(() => got.length === 1, 5_000);
    expect(got[0].eventId).toBe(appended.events[0].eventId);
    await processor.stop();
  });

  it('a processor of sparse types stays asleep while only records and scores wait behind an open transaction', async () => {
    const name = 'sparse-asleep';
    await startAtEnd(name);
    await startAtEnd(`${name}-all`);
    const got: StoredEvent[] = [];
    const sparseReads = jest.spyOn(h.store, 'readAll');
    const sparse = startLogProcessor(h.store, h.db, options(name, { types: ['Wanted'], pollIntervalMs: 60_000, handle: async (batch) => void got.push(...batch) }));
    // A reader of everything beside it, as the run projections are: held back, it looks again every 25 ms.
    const all = startLogProcessor(h.store, h.db, options(`${name}-all`, { pollIntervalMs: 60_000, handle: async () => undefined }));
    await Promise.all([sparse.waitUntilCaughtUp(), all.waitUntilCaughtUp()]);
    const blocker = await openWritingTransaction();
    try {
      const readsOfWanted = () => sparseReads.mock.calls.filter(([options]) => options.types?.includes('Wanted')).length;
      const before = readsOfWanted();
      for (let i = 0; i < 5; i++) {
        await h.store.append([{ streamId: `${name}-record-${i}`, expectedVersion: 'any', events: events(3, 'RecordAdded') }]);
        await sleep(60);
      }
      // Held-back hints name the record types only: no round for the reader of 'Wanted' (it ran ~12 before).
      expect(readsOfWanted() - before).toBeLessThanOrEqual(1);

      // Its own kind held back: it looks again soon, and takes the event as soon as the blocker ends.
      await h.store.append([{ streamId: `${name}-wanted`, expectedVersion: 'any', events: events(1, 'Wanted') }]);
      await sleep(100);
      expect(got).toEqual([]);
    } finally {
      await blocker.end();
    }
    await waitFor(() => got.length === 1, 1_000);
    sparseReads.mockRestore();
    await Promise.all([sparse.stop(), all.stop()]);
  });

  it('calls afterCommit with what handle returned, only for batches that committed', async () => {
    const name = 'after-commit';
    await startAtEnd(name);
    const committed: number[][] = [];
    let calls = 0;
    const processor = startLogProcessor(h.store, h.db, {
      ...options(name),
      batchSize: 4,
      handle: async (batch: StoredEvent[]) => {
        if (++calls === 1) throw new Error('first attempt fails');
        return batch.map((e) => (e.data as { n: number }).n);
      },
      afterCommit: (ns: number[]) => void committed.push(ns),
      onError: () => undefined,
    });
    await h.store.append([{ streamId: 'after-commit-1', expectedVersion: 'any', events: events(6) }]);
    await processor.waitUntilCaughtUp();
    await processor.stop();
    expect(committed).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
  });
});
