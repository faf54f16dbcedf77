import { randomUUID } from 'node:crypto';
import { DuplicateEventError, VersionConflictError } from './errors';
import { events, gate, Harness, startHarness, waitFor } from './spec/harness';
import { LOG_START } from './types';

describe('PostgresEventStore: append and read streams', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('round-trips events: append returns them as stored and readStream gives them back', async () => {
    const eventId = randomUUID().toUpperCase(); // stored (and returned) in PostgreSQL's lower case
    const result = await h.store.append([
      {
        streamId: 'roundtrip-1',
        expectedVersion: 'no_stream',
        events: [
          { type: 'ProjectCreated', data: { projectId: 'p1', name: 'Demo' }, metadata: { actor: 'alice' }, eventId },
          { type: 'SomethingCustom', data: [1, 'two', null, new Date(0)], schemaVersion: 3 },
          { type: 'NoData', data: undefined },
        ],
      },
    ]);
    expect(result.streamVersions.get('roundtrip-1')).toBe(3);
    expect(result.events).toHaveLength(3);
    const [first, second, third] = result.events;
    expect(first).toMatchObject({
      eventId: eventId.toLowerCase(),
      type: 'ProjectCreated',
      schemaVersion: 1, // currentSchemaVersion of a known type
      data: { projectId: 'p1', name: 'Demo' },
      metadata: { actor: 'alice' },
      streamId: 'roundtrip-1',
      streamPosition: 1,
    });
    expect(second).toMatchObject({ type: 'SomethingCustom', schemaVersion: 3, data: [1, 'two', null, '1970-01-01T00:00:00.000Z'], metadata: {}, streamPosition: 2 });
    expect(third).toMatchObject({ type: 'NoData', schemaVersion: 1, data: null, streamPosition: 3 });
    expect(second.globalPosition).toBe(first.globalPosition + 1);
    expect(first.transactionId).toMatch(/^\d+$/);
    expect(new Set(result.events.map((e) => e.transactionId)).size).toBe(1);
    expect(first.createdAt).toBeInstanceOf(Date);

    const read = await h.store.readStream('roundtrip-1');
    expect(read).toEqual(result.events);
    expect(await h.store.readStream('roundtrip-1', { after: 2 })).toEqual([third]);
    expect(await h.store.streamVersion('roundtrip-1')).toBe(3);
    expect(await h.store.streamVersion('never-written')).toBe(0);
    expect(await h.store.readStream('never-written')).toEqual([]);
  });

  it("checks expected versions: 'no_stream', an exact number, and 'any'", async () => {
    const s = 'expected-1';
    await h.store.append([{ streamId: s, expectedVersion: 'no_stream', events: events(2) }]);

    await expect(h.store.append([{ streamId: s, expectedVersion: 'no_stream', events: events(1) }])).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
      streamId: s,
      expected: 'no_stream',
      actual: 2,
    });
    await expect(h.store.append([{ streamId: s, expectedVersion: 1, events: events(1) }])).rejects.toBeInstanceOf(VersionConflictError);
    await expect(h.store.append([{ streamId: s, expectedVersion: 3, events: events(1) }])).rejects.toMatchObject({ expected: 3, actual: 2 });

    const exact = await h.store.append([{ streamId: s, expectedVersion: 2, events: events(1) }]);
    expect(exact.streamVersions.get(s)).toBe(3);
    const any = await h.store.append([{ streamId: s, expectedVersion: 'any', events: events(2) }]);
    expect(any.streamVersions.get(s)).toBe(5);
    expect(any.events.map((e) => e.streamPosition)).toEqual([4, 5]);

    // 0 means "empty or absent", like 'no_stream'; 'any' on a new stream starts at 1.
    await h.store.append([{ streamId: 'expected-2', expectedVersion: 0, events: events(1) }]);
    const fresh = await h.store.append([{ streamId: 'expected-3', expectedVersion: 'any', events: events(1) }]);
    expect(fresh.events[0].streamPosition).toBe(1);
    expect((await h.store.readStream(s)).map((e) => e.streamPosition)).toEqual([1, 2, 3, 4, 5]);
  });

  it('appends to several streams atomically: a conflict on one writes nothing for the others', async () => {
    await h.store.append([{ streamId: 'atomic-b', expectedVersion: 'no_stream', events: events(1) }]);
    const conflict = await h.store
      .append([
        { streamId: 'atomic-a', expectedVersion: 'no_stream', events: events(2) },
        { streamId: 'atomic-b', expectedVersion: 'no_stream', events: events(1) }, // b is at 1
        { streamId: 'atomic-c', expectedVersion: 'any', events: events(1) },
      ])
      .catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(VersionConflictError);
    expect(conflict).toMatchObject({ streamId: 'atomic-b', expected: 'no_stream', actual: 1 });
    const streams = await h.store.readStreams(['atomic-a', 'atomic-b', 'atomic-c']);
    expect(streams.get('atomic-a')).toEqual([]);
    expect(streams.get('atomic-b')).toHaveLength(1);
    expect(streams.get('atomic-c')).toEqual([]);

    const ok = await h.store.append([
      { streamId: 'atomic-a', expectedVersion: 'no_stream', events: events(2) },
      { streamId: 'atomic-b', expectedVersion: 1, events: events(1) },
    ]);
    expect([...ok.streamVersions]).toEqual([
      ['atomic-a', 2],
      ['atomic-b', 2],
    ]);
    // One transaction, global positions in the order given.
    expect(new Set(ok.events.map((e) => e.transactionId)).size).toBe(1);
    expect(ok.events.map((e) => e.streamId)).toEqual(['atomic-a', 'atomic-a', 'atomic-b']);
    expect(ok.events.map((e) => e.globalPosition)).toEqual([...ok.events.map((e) => e.globalPosition)].sort((a, b) => a - b));
  });

  it('takes two requests on one stream in order: the second expects the version the first leaves', async () => {
    const s = 'twice-1';
    const both = await h.store.append([
      { streamId: s, expectedVersion: 'no_stream', events: events(2) },
      { streamId: s, expectedVersion: 2, events: events(1, 'TestHappened', 2) },
    ]);
    expect(both.streamVersions.get(s)).toBe(3);
    expect(both.events.map((e) => [e.streamPosition, (e.data as { n: number }).n])).toEqual([[1, 0], [2, 1], [3, 2]]);

    await expect(
      h.store.append([
        { streamId: s, expectedVersion: 'any', events: events(1) },
        { streamId: s, expectedVersion: 3, events: events(1) }, // the first request moves it to 4
      ]),
    ).rejects.toMatchObject({ code: 'VERSION_CONFLICT', streamId: s, expected: 3, actual: 4 });
    expect(await h.store.streamVersion(s)).toBe(3);
  });

  it('lets exactly one of 10 concurrent writers with the same expected version win', async () => {
    const s = 'contended-1';
    await h.store.append([{ streamId: s, expectedVersion: 'no_stream', events: events(1) }]);
    const start = gate();
    const writers = Array.from({ length: 10 }, (_, i) =>
      start.promise.then(() => h.store.append([{ streamId: s, expectedVersion: 1, events: [{ type: 'Won', data: { writer: i } }] }])),
    );
    start.open();
    const results = await Promise.allSettled(writers);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const { reason } of lost) {
      expect(reason).toBeInstanceOf(VersionConflictError);
      expect(reason).toMatchObject({ code: 'VERSION_CONFLICT', streamId: s, expected: 1, actual: 2 });
    }
    expect((await h.store.readStream(s)).map((e) => e.streamPosition)).toEqual([1, 2]);
  });

  it('resolves a race decided by the unique key: the waiting writer gets a conflict once the other commits', async () => {
    const s = 'race-1';
    const holdOpen = gate();
    const appended = gate();
    // Writer A appends position 1 in a transaction it keeps open.
    const writerA = h.db.transaction(async (tx) => {
      await h.store.append([{ streamId: s, expectedVersion: 'no_stream', events: events(1) }], tx);
      appended.open();
      await holdOpen.promise;
    });
    await appended.promise;
    // Writer B still sees an empty stream, inserts position 1 too, and waits on A's index entry.
    const writerB = h.store.append([{ streamId: s, expectedVersion: 'no_stream', events: events(1) }]).catch((e: unknown) => e);
    await waitFor(async () => (await h.db.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)).length > 0);
    holdOpen.open();
    await writerA;
    expect(await writerB).toMatchObject({ code: 'VERSION_CONFLICT', streamId: s, expected: 'no_stream', actual: 1 });
  });

  it("lets concurrent 'any' writers all append, one after another", async () => {
    const s = 'any-race-1';
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.store.append([{ streamId: s, expectedVersion: 'any', events: [{ type: 'Any', data: { i } }] }])),
    );
    expect(results.map((r) => r.events[0].streamPosition).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await h.store.streamVersion(s)).toBe(10);
  });

  it('reports a stored event id again as a DuplicateEventError (a conflict)', async () => {
    const eventId = randomUUID();
    await h.store.append([{ streamId: 'dup-1', expectedVersion: 'any', events: [{ type: 'Once', data: {}, eventId }] }]);
    const retried = await h.store.append([{ streamId: 'dup-1', expectedVersion: 'any', events: [{ type: 'Once', data: {}, eventId }] }]).catch((e: unknown) => e);
    expect(retried).toBeInstanceOf(DuplicateEventError);
    expect(retried).toBeInstanceOf(VersionConflictError);
    expect(retried).toMatchObject({ code: 'VERSION_CONFLICT', eventId, streamId: 'dup-1', actual: 1 });
    await expect(
      h.store.append([{ streamId: 'dup-2', expectedVersion: 'any', events: [{ type: 'A', data: {}, eventId: randomUUID() }, { type: 'B', data: {}, eventId }] }]),
    ).rejects.toBeInstanceOf(DuplicateEventError);
    expect(await h.store.streamVersion('dup-2')).toBe(0);
  });

  it("appends inside the caller's transaction: visible only at commit, gone on rollback, and the transaction survives a conflict", async () => {
    await h.db.transaction(async (tx) => {
      await h.store.append([{ streamId: 'tx-1', expectedVersion: 'no_stream', events: events(2) }], tx);
      expect(await h.store.streamVersion('tx-1')).toBe(0); // another connection: not committed yet
      expect(await h.store.streamVersion('tx-1', tx)).toBe(2);
      // A conflict inside the caller's transaction rolls back only the append (savepoint).
      await expect(h.store.append([{ streamId: 'tx-1', expectedVersion: 0, events: events(1) }], tx)).rejects.toBeInstanceOf(VersionConflictError);
      await h.store.append([{ streamId: 'tx-1', expectedVersion: 2, events: events(1) }], tx);
    });
    expect(await h.store.streamVersion('tx-1')).toBe(3);

    await expect(
      h.db.transaction(async (tx) => {
        await h.store.append([{ streamId: 'tx-2', expectedVersion: 'no_stream', events: events(1) }], tx);
        throw new Error('caller changed its mind');
      }),
    ).rejects.toThrow('caller changed its mind');
    expect(await h.store.streamVersion('tx-2')).toBe(0);
  });

  it('loads the events of some types of a long stream with the version of the whole stream', async () => {
    const s = 'typed-1';
    await h.store.append([{ streamId: s, expectedVersion: 'no_stream', events: [{ type: 'Opened', data: {} }, ...events(50, 'Filler'), { type: 'Renamed', data: { to: 'b' } }] }]);
    await h.store.append([{ streamId: s, expectedVersion: 52, events: events(10, 'Filler') }]);

    const loaded = await h.store.loadStream(s, { types: ['Opened', 'Renamed'] });
    expect(loaded.version).toBe(62); // what the next append must expect
    expect(loaded.events.map((e) => [e.type, e.streamPosition])).toEqual([['Opened', 1], ['Renamed', 52]]);
    const after = await h.store.loadStream(s, { after: 1, types: ['Opened', 'Renamed'] });
    expect(after.events.map((e) => e.type)).toEqual(['Renamed']);
    expect(await h.store.loadStream('typed-never', { types: ['Opened'] })).toEqual({ events: [], version: 0 });
    expect((await h.store.readStream(s, { types: ['Filler'], after: 52 })).map((e) => e.streamPosition)).toEqual([53, 54, 55, 56, 57, 58, 59, 60, 61, 62]);

    // Without payloads: where those events lie in the global log, for reading them a page at a time.
    const { globalPositions, version } = await h.store.loadStreamPositions(s, { types: ['Opened', 'Renamed'] });
    expect(version).toBe(62);
    expect((await h.store.readEventsAt(globalPositions)).map((e) => e.eventId)).toEqual(loaded.events.map((e) => e.eventId));
    expect(await h.store.loadStreamPositions('typed-never')).toEqual({ globalPositions: [], version: 0 });
  });

  it('reads several streams in one call, with an empty list for absent ones', async () => {
    await h.store.append([
      { streamId: 'multi-a', expectedVersion: 'any', events: events(2) },
      { streamId: 'multi-b', expectedVersion: 'any', events: events(1) },
    ]);
    const streams = await h.store.readStreams(['multi-b', 'multi-a', 'multi-none']);
    expect([...streams.keys()]).toEqual(['multi-b', 'multi-a', 'multi-none']);
    expect(streams.get('multi-a')!.map((e) => e.streamPosition)).toEqual([1, 2]);
    expect(streams.get('multi-b')!.map((e) => e.streamPosition)).toEqual([1]);
    expect(streams.get('multi-none')).toEqual([]);
    expect((await h.store.readStreams([])).size).toBe(0);
  });

  it('appends a batch of 1,000 events across 1,000 streams in one call', async () => {
    const requests = Array.from({ length: 1000 }, (_, i) => ({
      streamId: `batch-record-${i}`,
      expectedVersion: 'no_stream' as const,
      events: [{ type: 'RecordAdded', data: { i, input: 'x'.repeat(200) } }],
    }));
    const result = await h.store.append(requests);
    expect(result.events).toHaveLength(1000);
    expect(result.streamVersions.size).toBe(1000);
    expect(result.events.every((e, i) => e.streamId === `batch-record-${i}` && e.streamPosition === 1 && (e.data as { i: number }).i === i)).toBe(true);
    const positions = result.events.map((e) => e.globalPosition);
    expect(positions.every((p, i) => i === 0 || p === positions[i - 1] + 1)).toBe(true);
    const [{ count }] = await h.db.query<{ count: number }>(`select count(*) as count from assay_events where stream_id like 'batch-record-%'`);
    expect(count).toBe(1000);
    const streams = await h.store.readStreams(requests.map((r) => r.streamId));
    expect([...streams.values()].every((list) => list.length === 1)).toBe(true);

    // And a second batch with exact expected versions on the same 1,000 streams.
    const again = await h.store.append(requests.map((r) => ({ ...r, expectedVersion: 1 })));
    expect(again.events.every((e) => e.streamPosition === 2)).toBe(true);
  });

  it('rejects malformed requests before touching the database', async () => {
    await expect(h.store.append([{ streamId: '', expectedVersion: 'any', events: events(1) }])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(h.store.append([{ streamId: 'bad', expectedVersion: -1, events: events(1) }])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const id = randomUUID();
    await expect(
      h.store.append([{ streamId: 'bad', expectedVersion: 'any', events: [{ type: 'A', data: 1, eventId: id }, { type: 'B', data: 2, eventId: id }] }]),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await h.store.append([])).toEqual({ streamVersions: new Map(), events: [] });
  });

  it('starts the global log at LOG_START for a reader without a checkpoint', async () => {
    expect(await h.store.loadCheckpoint('nobody')).toEqual(LOG_START);
  });
});
