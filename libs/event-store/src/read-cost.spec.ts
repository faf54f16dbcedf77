import type { Sql } from '@assay/database';
import { SCAN_WINDOW } from './read-all';
import { Harness, logSettled, startHarness } from './spec/harness';
import { LOG_START, LogPosition } from './types';

/**
 * Reads cost what they return, not the size of the log: each read runs in a transaction of its
 * own, whose statistics count the rows of assay_events it read. The log
 * has no planner statistics (a fresh table, autovacuum off for it), as on any new deployment and
 * wherever autovacuum is off: plans must not depend on them. Before this spec, each read scanned
 * the whole log once to ask whether events were held back, readStreams scanned it for every batch
 * of record streams, and a filtered reader sorted its whole backlog each round.
 */
describe('PostgresEventStore: reads touch rows in proportion to what they return', () => {
  const LOG_SIZE = 3 * SCAN_WINDOW;
  let h: Harness;
  let start: LogPosition;

  beforeAll(async () => {
    h = await startHarness();
    await h.db.query('alter table assay_events set (autovacuum_enabled = false)');
    start = (await h.store.readAll({ after: LOG_START, limit: 1 })).position;
    // Noise on many small streams (as scores are), in appends of 1,000, then a few rare events.
    for (let i = 0; i < LOG_SIZE; i += 1000) {
      await h.store.append(
        Array.from({ length: 500 }, (_, s) => ({
          streamId: `noise-${i + s}`,
          expectedVersion: 0,
          events: [
            { type: 'Noise', data: { n: i + 2 * s } },
            { type: 'Noise', data: { n: i + 2 * s + 1 } },
          ],
        })),
      );
    }
    await h.store.append([{ streamId: 'rare', expectedVersion: 'any', events: [{ type: 'Rare', data: {} }, { type: 'Rare', data: {} }] }]);
    await logSettled(h.db);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('an unfiltered page of 100 events touches about 100 rows', async () => {
    const { result: page, rowsRead } = await counting(h, (sql) => h.store.readAll({ after: start, limit: 100, maxBytes: 1_000_000 }, sql));
    expect(page.events).toHaveLength(100);
    expect(rowsRead).toBeLessThanOrEqual(2 * 100 + 10); // the window, then each row kept by key
  });

  it('a filtered reader far behind moves through the log a window at a time, and finds every event of its types', async () => {
    let position = start;
    const found: string[] = [];
    const rowsPerRound: number[] = [];
    for (;;) {
      const { result: read, rowsRead } = await counting(h, (sql) => h.store.readAll({ after: position, limit: 100, types: ['Rare'] }, sql));
      found.push(...read.events.map((event) => event.type));
      rowsPerRound.push(rowsRead);
      position = read.position;
      if (!read.full) break;
    }
    expect(found).toEqual(['Rare', 'Rare']);
    expect(rowsPerRound).toHaveLength(Math.ceil(LOG_SIZE / SCAN_WINDOW) + 1);
    // Each round looks at its window, never the whole backlog.
    expect(Math.max(...rowsPerRound)).toBeLessThanOrEqual(SCAN_WINDOW + 10);
    // Caught up, it starts past everything: the next round reads nothing old.
    const next = await counting(h, (sql) => h.store.readAll({ after: position, limit: 100, types: ['Rare'] }, sql));
    expect(next.result.events).toEqual([]);
    expect(next.rowsRead).toBeLessThanOrEqual(10);
  });

  it('a reader of sparse types touches only sparse rows, however many records and scores the log holds', async () => {
    await logSettled(h.db);
    const before = (await h.store.readAll({ after: start, limit: 1_000_000 })).position;
    // Per-record events (DENSE_EVENT_TYPES), with one event of a sparse type among them.
    for (let i = 0; i < 2 * SCAN_WINDOW; i += 1000) {
      if (i === SCAN_WINDOW) await h.store.append([{ streamId: 'rare-among-scores', expectedVersion: 'any', events: [{ type: 'Rare', data: {} }] }]);
      await h.store.append(
        Array.from({ length: 1000 }, (_, s) => ({ streamId: `record-${i + s}`, expectedVersion: 0, events: [{ type: 'ScoreRecorded', data: { n: i + s } }] })),
      );
    }
    await logSettled(h.db);
    const { result: read, rowsRead } = await counting(h, (sql) => h.store.readAll({ after: before, limit: 100, types: ['Rare', 'ApiKeyCreated'] }, sql));
    expect(read.events.map((event) => event.streamId)).toEqual(['rare-among-scores']);
    expect(read.full).toBe(false);
    expect(rowsRead).toBeLessThanOrEqual(10);
    // A reader of a per-record type still walks the log a window at a time, as before.
    const { result: scores } = await counting(h, (sql) => h.store.readAll({ after: before, limit: 100, types: ['ScoreRecorded'] }, sql));
    expect(scores.events).toHaveLength(100);
  });

  it('reading 500 record streams (most not started yet) probes each one', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => (i % 5 === 0 ? `noise-${i}` : `not-started-${i}`));
    const { result: streams, rowsRead } = await counting(h, (sql) => h.store.readStreams(ids, sql));
    expect([...streams.values()].reduce((n, events) => n + events.length, 0)).toBe(100 * 2);
    expect(streams.get('noise-0')!.map((event) => event.streamPosition)).toEqual([1, 2]);
    expect(rowsRead).toBeLessThanOrEqual(100 * 2);
  });
});

/**
 * Runs `read` in a transaction of its own and returns what it gave, with the rows of assay_events
 * it read: heap rows fetched by sequential and index scans, inside functions too, as the
 * session's table statistics count them (before and after, since they may still hold counts of
 * the session's earlier transactions).
 */
async function counting<T>(h: Harness, read: (sql: Sql) => Promise<T>): Promise<{ result: T; rowsRead: number }> {
  return h.db.transaction(async (tx) => {
    const rowsSoFar = async () => {
      const [stats] = await tx.query<{ rows: string }>(
        `select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) as rows from pg_stat_xact_user_tables where relname = 'assay_events'`,
      );
      return Number(stats?.rows ?? 0);
    };
    const before = await rowsSoFar();
    const result = await read(tx);
    return { result, rowsRead: (await rowsSoFar()) - before };
  });
}
