import { LOG_START } from '@assay/event-store';
import type { ConsumerOptions, Delivery } from '../types';
import { MemoryLogger } from '../test-support/memory-logger';
import { startStore, type StoreHarness } from '../test-support/store';
import { delay, waitFor } from '../test-support/wait-for';
import { InProcessBus } from './in-process-bus';
import { checkpointName } from './log-consumer';

// The log's read horizon is server-wide, so another suite's long transaction stalls these readers:
// waits are generous, and a timeout says which transaction held the horizon.
jest.setTimeout(300_000);
const LOG_WAIT_MS = 120_000;

let harness: StoreHarness;

/** waitFor for conditions that depend on reading the log: long, and names the horizon's holder on timeout. */
const waitForLog = (condition: () => boolean | Promise<boolean>, what: string | (() => string)) =>
  waitFor(condition, async () => `${typeof what === 'function' ? what() : what}; ${await harness.horizonReport()}`, LOG_WAIT_MS);
const buses: InProcessBus[] = [];
const logger = new MemoryLogger();

function newBus(store = harness.store): InProcessBus {
  // A long poll: these tests pass only if onAppended hints wake the consumers.
  const bus = new InProcessBus({ store, logger, pollIntervalMs: 60_000, checkpointEveryMs: 20 });
  buses.push(bus);
  return bus;
}

let counter = 0;
function fresh(overrides: Partial<ConsumerOptions> = {}): ConsumerOptions {
  counter++;
  return { name: `c${counter}`, eventTypes: [`Type${counter}`], maxInFlight: 10, maxBatch: 5, ackWaitMs: 30_000, maxDeliver: 5, backoffMs: [200], ...overrides };
}

beforeAll(async () => {
  harness = await startStore();
});

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await harness.close();
});

describe('InProcessBus', () => {
  it('delivers each stored event of the requested types once, and checkpoints past them', async () => {
    const bus = newBus();
    const options = fresh();
    const [type] = options.eventTypes;
    const before = await harness.append(type, 30, 7);
    await harness.append('SomethingElse', 5);
    const received: Delivery[] = [];
    const handle = await bus.consume(options, async (batch) => {
      expect(batch.length).toBeLessThanOrEqual(5);
      for (const d of batch) {
        received.push(d);
        d.ack();
      }
    });
    const after = await harness.append(type, 20, 3); // woken by onAppended, not by the (1 min) poll
    await waitForLog(() => received.length >= 50, () => `50 deliveries, got ${received.length}`);
    await handle.stop();

    expect(received.map((d) => d.event.eventId)).toEqual([...before, ...after].map((e) => e.eventId));
    expect(received.every((d) => d.deliveryCount === 1)).toBe(true);
    const checkpoint = await harness.store.loadCheckpoint(checkpointName(options.name));
    const last = after[after.length - 1];
    expect(checkpoint.globalPosition).toBeGreaterThanOrEqual(last.globalPosition);
  });

  it('reads on through a long stretch of other events at once, not at the next poll', async () => {
    const bus = newBus();
    const options = fresh();
    const [type] = options.eventTypes;
    const received: Delivery[] = [];
    const handle = await bus.consume(options, async (batch) => {
      for (const d of batch) {
        received.push(d);
        d.ack();
      }
    });
    // More than one read's window of the log (SCAN_WINDOW, 10,000 rows) before the event it wants.
    await harness.append('Crowd', 25_000, 5_000);
    const [wanted] = await harness.append(type, 1);
    // Half the poll interval: only reading on at once (not waiting for the poll) gets it here in time.
    await waitFor(() => received.length === 1, async () => `the event after the crowd within 30 s; ${await harness.horizonReport()}`, 30_000);
    await handle.stop();
    expect(received[0].event.eventId).toBe(wanted.eventId);
  });

  it('publish delivers stored events again, past the checkpoint, to the consumers of their types only, and not while they still wait here', async () => {
    // What the reconciler does with a record whose last delivery could not even record its failure.
    const bus = newBus();
    const options = fresh({ maxDeliver: 2, backoffMs: [0] });
    const other = fresh();
    const [dropped, kept] = await harness.append(options.eventTypes[0], 2, 2);
    const seen: Array<{ id: string; count: number }> = [];
    const otherSeen: string[] = [];
    let failing = true;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const handle = await bus.consume(options, async (batch) => {
      for (const d of batch) {
        seen.push({ id: d.event.eventId, count: d.deliveryCount });
        if (d.event.eventId === kept.eventId) {
          await released; // still in flight when it is published again
          d.ack();
        } else if (failing) d.nak();
        else d.ack();
      }
    });
    const otherHandle = await bus.consume(other, async (batch) => batch.forEach((d) => (otherSeen.push(d.event.eventId), d.ack())));
    await waitForLog(() => seen.filter((s) => s.id === dropped.eventId).length === 2 && logger.has('event dropped after maxDeliver'), 'the event dropped after 2 deliveries');
    await waitForLog(async () => (await harness.store.loadCheckpoint(checkpointName(options.name))).globalPosition >= dropped.globalPosition, 'the checkpoint past it');

    failing = false;
    await bus.publish([dropped, kept]);
    await waitForLog(() => seen.filter((s) => s.id === dropped.eventId).length === 3, 'the dropped event delivered again');
    release();
    await delay(200);
    await handle.stop();
    await otherHandle.stop();
    expect(seen.filter((s) => s.id === dropped.eventId).map((s) => s.count)).toEqual([1, 2, 1]);
    expect(seen.filter((s) => s.id === kept.eventId).map((s) => s.count)).toEqual([1]);
    expect(otherSeen).toEqual([]);
  });

  it('redelivers a nak after its delay with deliveryCount 2, and a handler failure after the backoff', async () => {
    const bus = newBus();
    const options = fresh({ backoffMs: [400] });
    const [naked, thrown] = await harness.append(options.eventTypes[0], 2, 2);
    const seen: Array<{ id: string; count: number; at: number }> = [];
    const handle = await bus.consume(options, async (batch) => {
      for (const d of batch) {
        seen.push({ id: d.event.eventId, count: d.deliveryCount, at: Date.now() });
        if (d.deliveryCount > 1) d.ack();
        else if (d.event.eventId === naked.eventId) d.nak(1000);
      }
      if (batch.some((d) => d.event.eventId === thrown.eventId && d.deliveryCount === 1)) throw new Error('transient');
    });
    await waitForLog(() => seen.length >= 4, 'two redeliveries');
    await handle.stop();
    const of = (id: string) => seen.filter((s) => s.id === id);
    expect(of(naked.eventId).map((s) => s.count)).toEqual([1, 2]);
    expect(of(thrown.eventId).map((s) => s.count)).toEqual([1, 2]);
    expect(of(naked.eventId)[1].at - of(naked.eventId)[0].at).toBeGreaterThanOrEqual(950);
    expect(of(thrown.eventId)[1].at - of(thrown.eventId)[0].at).toBeGreaterThanOrEqual(350);
  });

  it('redelivers what was not settled within ackWait, and working() extends it', async () => {
    const bus = newBus();
    const options = fresh({ ackWaitMs: 500, maxBatch: 1 });
    const [stuck, slow] = await harness.append(options.eventTypes[0], 2, 2);
    const seen: Array<{ id: string; count: number }> = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let slowAcked = false;
    const handle = await bus.consume(options, async ([d]) => {
      seen.push({ id: d.event.eventId, count: d.deliveryCount });
      if (d.event.eventId === stuck.eventId && d.deliveryCount === 1) {
        await released;
        d.nak(); // too late: a newer delivery is live, so this is ignored
        return;
      }
      if (d.event.eventId === slow.eventId) {
        for (let i = 0; i < 4; i++) {
          await delay(250);
          d.working();
        }
        d.ack();
        slowAcked = true;
        return;
      }
      d.ack();
    });
    await waitForLog(() => seen.filter((s) => s.id === stuck.eventId).length >= 2, 'the stuck event again');
    release();
    await waitForLog(() => slowAcked, 'the slow event, 1 s of work at 500 ms ack wait, acked');
    await handle.stop();
    expect(seen.filter((s) => s.id === stuck.eventId).map((s) => s.count)).toEqual([1, 2]);
    expect(seen.filter((s) => s.id === slow.eventId).map((s) => s.count)).toEqual([1]);
  });

  it('never redelivers a termed event, and stops after maxDeliver deliveries', async () => {
    const bus = newBus();
    const options = fresh({ maxDeliver: 3, backoffMs: [0] });
    const [termed, doomed, fine] = await harness.append(options.eventTypes[0], 3, 3);
    const counts = new Map<string, number[]>();
    const handle = await bus.consume(options, async (batch) => {
      for (const d of batch) {
        counts.set(d.event.eventId, [...(counts.get(d.event.eventId) ?? []), d.deliveryCount]);
        if (d.event.eventId === termed.eventId) d.term('recorded');
        else if (d.event.eventId === doomed.eventId) d.nak();
        else d.ack();
      }
    });
    // The checkpoint passes all three only once each is settled or dropped.
    await waitForLog(async () => (await harness.store.loadCheckpoint(checkpointName(options.name))).globalPosition >= fine.globalPosition, 'the checkpoint past all three');
    await handle.stop();
    expect(counts.get(termed.eventId)).toEqual([1]);
    expect(counts.get(doomed.eventId)).toEqual([1, 2, 3]);
    expect(counts.get(fine.eventId)).toEqual([1]);
    expect(logger.has('event dropped after maxDeliver')).toBe(true);
  });

  it('never holds more than maxInFlight unsettled deliveries', async () => {
    const bus = newBus();
    const options = fresh({ maxInFlight: 4, maxBatch: 3 });
    await harness.append(options.eventTypes[0], 60, 10);
    let holding = 0;
    let most = 0;
    let handled = 0;
    const handle = await bus.consume(options, async (batch) => {
      holding += batch.length;
      most = Math.max(most, holding);
      for (const d of batch) {
        await delay(1 + Math.random() * 5);
        holding--;
        handled++;
        d.ack();
      }
    });
    await waitForLog(() => handled >= 60, () => `60 handled, got ${handled}`);
    await handle.stop();
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThanOrEqual(2);
  });

  it('after a restart delivers again what was unsettled, and not the settled prefix', async () => {
    const options = fresh();
    const events = await harness.append(options.eventTypes[0], 10, 10);
    const settled = new Set(events.slice(0, 4).map((e) => e.eventId));
    const firstRun: string[] = [];
    const first = await newBus().consume(options, async (batch) => {
      for (const d of batch) {
        firstRun.push(d.event.eventId);
        if (settled.has(d.event.eventId)) d.ack();
        else d.nak(60_000); // still unsettled when the process stops
      }
    });
    await waitForLog(() => firstRun.length >= 10, 'the first run to see all ten');
    await first.stop();
    expect((await harness.store.loadCheckpoint(checkpointName(options.name))).globalPosition).toBe(events[3].globalPosition);

    // Another process on the same database: its own pool, store and bus.
    const other = await harness.connectAnother();
    const secondRun: Delivery[] = [];
    const second = await newBus(other.store).consume(options, async (batch) => {
      for (const d of batch) {
        secondRun.push(d);
        d.ack();
      }
    });
    await waitForLog(() => secondRun.length >= 6, 'the six unsettled events again');
    await second.stop();
    expect(secondRun.map((d) => d.event.eventId)).toEqual(events.slice(4).map((e) => e.eventId));
    expect(secondRun.every((d) => d.deliveryCount === 1)).toBe(true);
    expect((await other.store.loadCheckpoint(checkpointName(options.name))).globalPosition).toBeGreaterThanOrEqual(events[9].globalPosition);
  });

  it('starts from the beginning of the log for a new consumer name', async () => {
    const options = fresh();
    expect(await harness.store.loadCheckpoint(checkpointName(options.name))).toEqual(LOG_START);
  });

  it('refuses a second consumer with the same name in one process', async () => {
    const bus = newBus();
    const options = fresh();
    const handle = await bus.consume(options, async () => undefined);
    await expect(bus.consume(options, async () => undefined)).rejects.toMatchObject({ code: 'INTERNAL' });
    await handle.stop();
  });

  it('broadcasts within the process by topic prefix and wildcard, as JSON copies', async () => {
    const bus = newBus();
    const got: Array<[unknown, string]> = [];
    const star: string[] = [];
    const off = bus.onBroadcast('run-updated', (payload, topic) => got.push([payload, topic]));
    bus.onBroadcast('run-updated.*.x', (_p, topic) => star.push(topic));
    const payload = { at: new Date(0), n: 1 };
    bus.broadcast('run-updated.r1', payload);
    bus.broadcast('run-updated.r1.x', {});
    bus.broadcast('run-updatedness', {});
    await waitForLog(() => got.length >= 2 && star.length >= 1, 'broadcasts');
    expect(got[0]).toEqual([{ at: '1970-01-01T00:00:00.000Z', n: 1 }, 'run-updated.r1']);
    expect(got[1][1]).toBe('run-updated.r1.x');
    expect(star).toEqual(['run-updated.r1.x']);
    off();
    bus.broadcast('run-updated.r2', {});
    await delay(20);
    expect(got).toHaveLength(2);
  });
});
