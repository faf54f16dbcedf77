import { testNatsUrl, uniqueBusPrefix } from '@assay/testing';
import type { BatchHandler, ConsumerOptions, Delivery } from '../types';
import { storedEvent, storedEvents } from '../test-support/events';
import { MemoryLogger } from '../test-support/memory-logger';
import { delay, waitFor } from '../test-support/wait-for';
import { JetStreamBus } from './jetstream-bus';

const prefix = uniqueBusPrefix('bus');
const streamName = prefix.toUpperCase();
const buses: JetStreamBus[] = [];
let bus: JetStreamBus;
const logger = new MemoryLogger();

async function connectBus(): Promise<JetStreamBus> {
  const connected = await JetStreamBus.connect({ url: testNatsUrl(), streamName, subjectPrefix: prefix, logger, stream: { maxAgeMs: 60 * 60 * 1000 } });
  buses.push(connected);
  return connected;
}

/** A consumer name and event type of its own per test, so tests never see each other's events. */
let counter = 0;
function fresh(overrides: Partial<ConsumerOptions> = {}): ConsumerOptions {
  counter++;
  return {
    name: `c${counter}`,
    eventTypes: [`Type${counter}`],
    maxInFlight: 10,
    maxBatch: 5,
    ackWaitMs: 30_000,
    maxDeliver: 5,
    backoffMs: [200],
    ...overrides,
  };
}

const consumerInfo = (name: string) => bus.manager.consumers.info(streamName, name);

/**
 * Nothing is left to deliver or waiting for an ack or a redelivery. With `acked` (the default), every
 * delivery was also acked or termed: the ack floor reached the last delivered message. An event
 * dropped after max_deliver holds the ack floor back, so that test passes `acked: false`.
 */
async function waitUntilSettled(name: string, { acked = true } = {}): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const info = await consumerInfo(name);
      last = JSON.stringify({ pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered, ackFloor: info.ack_floor, delivered: info.delivered });
      return (
        info.num_pending === 0 &&
        info.num_ack_pending === 0 &&
        (!acked || info.ack_floor.stream_seq === info.delivered.stream_seq)
      );
    },
    () => `consumer ${name} settled: ${last}`,
  );
}

beforeAll(async () => {
  bus = await connectBus();
});

afterAll(async () => {
  await bus.manager.streams.delete(streamName).catch(() => undefined);
  await Promise.all(buses.map((b) => b.close()));
});

describe('JetStreamBus', () => {
  it('creates the stream idempotently, with limits retention, file storage and a dedup window', async () => {
    const again = await connectBus();
    const info = await again.manager.streams.info(streamName);
    expect(info.config).toMatchObject({ retention: 'limits', storage: 'file', discard: 'old', subjects: [`${prefix}.events.>`], duplicate_window: 120_000_000_000 });
    expect(logger.has('updated JetStream stream')).toBe(false);
  });

  it('stores an event published twice with the same eventId once, and a consumer that acks receives each event once', async () => {
    const options = fresh();
    const [type] = options.eventTypes;
    const events = storedEvents(type, 20);
    const before = (await bus.manager.streams.info(streamName)).state.messages;

    await bus.publish(events);
    await bus.publish([...events.slice(0, 5), events[10]]);
    expect((await bus.manager.streams.info(streamName)).state.messages - before).toBe(20);

    const received: string[] = [];
    const handle = await bus.consume(options, async (batch) => {
      for (const d of batch) {
        received.push(d.event.eventId);
        d.ack();
      }
    });
    await waitFor(() => received.length >= 20, () => `20 deliveries, got ${received.length}`);
    await waitUntilSettled(options.name);
    await handle.stop();

    expect(received.sort()).toEqual(events.map((e) => e.eventId).sort());
    expect((await consumerInfo(options.name)).num_redelivered).toBe(0);
  });

  it('refuses an event over the server max_payload naming it, the sizes and the setting to raise, and stores the rest of the call', async () => {
    // The relay retries such an event for ever and every later one waits: the log must say why and what to do.
    const [type] = fresh().eventTypes;
    const small = storedEvent(type, { note: 'fits' });
    const huge = storedEvent(type, { text: 'x'.repeat(2 * 1024 * 1024) });
    const before = (await bus.manager.streams.info(streamName)).state.messages;
    await expect(bus.publish([small, huge])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`event ${huge.eventId} \\(${type}\\) is \\d+ bytes, over the NATS server's max_payload of \\d+: raise max_payload`)),
      details: { failedEventIds: [huge.eventId] },
    });
    expect((await bus.manager.streams.info(streamName)).state.messages - before).toBe(1);
  });

  it('hands the handler the stored event with its fields and createdAt as a Date', async () => {
    const options = fresh();
    const event = storedEvent(options.eventTypes[0], { runId: 'r1', nested: { n: 1 } }, { metadata: { actor: 'me' } });
    await bus.publish([event]);
    let got: Delivery | undefined;
    const handle = await bus.consume(options, async ([d]) => {
      got = d;
      d.ack();
    });
    await waitFor(() => got !== undefined, 'one delivery');
    await handle.stop();
    expect(got!.event).toEqual(event);
    expect(got!.deliveryCount).toBe(1);
  });

  it('redelivers a nak after roughly its delay, with deliveryCount 2', async () => {
    const options = fresh();
    await bus.publish([storedEvent(options.eventTypes[0])]);
    const seen: Array<{ count: number; at: number }> = [];
    const handle = await bus.consume(options, async ([d]) => {
      seen.push({ count: d.deliveryCount, at: Date.now() });
      if (d.deliveryCount === 1) d.nak(1500);
      else d.ack();
    });
    await waitFor(() => seen.length >= 2, 'a redelivery');
    await waitUntilSettled(options.name);
    await handle.stop();
    expect(seen.map((s) => s.count)).toEqual([1, 2]);
    const gap = seen[1].at - seen[0].at;
    expect(gap).toBeGreaterThanOrEqual(1300);
    expect(gap).toBeLessThan(10_000);
  });

  it('naks with the backoff for the attempt when the handler throws, keeping what it already acked', async () => {
    const options = fresh({ backoffMs: [300, 600], maxBatch: 10 });
    const [keep, fail] = [storedEvent(options.eventTypes[0]), storedEvent(options.eventTypes[0])];
    await bus.publish([keep, fail]);
    const deliveries: Array<{ id: string; count: number; at: number }> = [];
    const handle = await bus.consume(options, async (batch) => {
      for (const d of batch) deliveries.push({ id: d.event.eventId, count: d.deliveryCount, at: Date.now() });
      for (const d of batch) {
        if (d.event.eventId === keep.eventId) d.ack();
        else if (d.deliveryCount < 3) throw new Error('transient');
        else d.ack();
      }
    });
    await waitFor(() => deliveries.filter((d) => d.id === fail.eventId).length >= 3, 'three deliveries of the failing event');
    await waitUntilSettled(options.name);
    await handle.stop();
    expect(deliveries.filter((d) => d.id === keep.eventId)).toHaveLength(1);
    const failing = deliveries.filter((d) => d.id === fail.eventId);
    expect(failing.map((d) => d.count)).toEqual([1, 2, 3]);
    expect(failing[1].at - failing[0].at).toBeGreaterThanOrEqual(250); // backoff[0]
    expect(failing[2].at - failing[1].at).toBeGreaterThanOrEqual(500); // backoff[1]
    expect(logger.has('handler failed')).toBe(true);
  });

  it('redelivers what was not settled within ackWait while the first handler is still busy', async () => {
    const options = fresh({ ackWaitMs: 1000, maxInFlight: 4 });
    await bus.publish([storedEvent(options.eventTypes[0])]);
    const counts: number[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const handle = await bus.consume(options, async ([d]) => {
      counts.push(d.deliveryCount);
      if (d.deliveryCount === 1) {
        await firstHeld; // neither ack, nak nor working: the server's ack_wait runs out
        d.ack();
      } else d.ack();
    });
    await waitFor(() => counts.length >= 2, 'a redelivery after ack_wait');
    releaseFirst();
    await waitUntilSettled(options.name);
    await handle.stop();
    expect(counts).toEqual([1, 2]);
  });

  it('working() keeps a slow delivery from being redelivered', async () => {
    const options = fresh({ ackWaitMs: 1000 });
    await bus.publish([storedEvent(options.eventTypes[0])]);
    const counts: number[] = [];
    const handle = await bus.consume(options, async ([d]) => {
      counts.push(d.deliveryCount);
      for (let i = 0; i < 5; i++) {
        await delay(500);
        d.working();
      }
      d.ack();
    });
    await waitFor(() => counts.length >= 1, 'a delivery');
    await waitUntilSettled(options.name);
    await handle.stop();
    expect(counts).toEqual([1]);
  });

  it('never redelivers a termed event', async () => {
    const options = fresh({ ackWaitMs: 1000 });
    const poison = storedEvent(options.eventTypes[0]);
    await bus.publish([poison]);
    const counts: number[] = [];
    const handle = await bus.consume(options, async ([d]) => {
      counts.push(d.deliveryCount);
      d.term('recorded as ScoringFailed');
    });
    // On a server that ignored the term the event would stay ack-pending and come back after ack_wait.
    await waitUntilSettled(options.name);
    await bus.publish([storedEvent(options.eventTypes[0])]);
    await waitFor(() => counts.length >= 2, 'the sentinel');
    await waitUntilSettled(options.name);
    await handle.stop();
    expect(counts).toEqual([1, 1]);
  });

  it('stops delivering after maxDeliver deliveries', async () => {
    const options = fresh({ maxDeliver: 3, backoffMs: [0] });
    const doomed = storedEvent(options.eventTypes[0]);
    await bus.publish([doomed]);
    const counts: number[] = [];
    const handle = await bus.consume(options, async ([d]) => {
      counts.push(d.deliveryCount);
      if (d.event.eventId === doomed.eventId) d.nak();
      else d.ack();
    });
    await waitFor(() => counts.length >= 3, 'three deliveries');
    await waitUntilSettled(options.name, { acked: false });
    // Something delivered after the last attempt shows the consumer still flows and the doomed event stays gone.
    await bus.publish([storedEvent(options.eventTypes[0])]);
    await waitFor(() => counts.length >= 4, 'the sentinel');
    await waitUntilSettled(options.name, { acked: false });
    await handle.stop();
    expect(counts).toEqual([1, 2, 3, 1]);
  });

  it("deliveries carry the server's max_deliver, also after another process changed it (a rolling change of SCORING_MAX_DELIVER)", async () => {
    // A handler that judged the last delivery by its own setting (5) would nak delivery 3 of a consumer the
    // server now stops at 3: never redelivered, and no failure recorded.
    const quick = await JetStreamBus.connect({ url: testNatsUrl(), streamName, subjectPrefix: prefix, logger, stream: { maxAgeMs: 60 * 60 * 1000 }, maxDeliverRefreshMs: 100, pullExpiresMs: 1000 });
    buses.push(quick);
    const options = fresh({ maxDeliver: 5, backoffMs: [0] });
    const seen: { count: number; max: number }[] = [];
    const handle = await quick.consume(options, async (batch) => {
      for (const d of batch) {
        seen.push({ count: d.deliveryCount, max: d.maxDeliver });
        d.ack();
      }
    });
    await quick.publish([storedEvent(options.eventTypes[0])]);
    await waitFor(() => seen.length === 1, 'the first delivery');

    // Another process starts the same consumer with max_deliver 3.
    const other = await connectBus();
    await (await other.consume({ ...options, maxDeliver: 3 }, async (batch) => batch.forEach((d) => d.ack()))).stop();
    expect((await consumerInfo(options.name)).config.max_deliver).toBe(3);
    await delay(1_500); // a refresh, after the open pull ends
    const [type] = options.eventTypes;
    await quick.publish([storedEvent(type)]);
    await waitFor(() => seen.length === 2, 'a delivery after the change');
    await handle.stop();
    expect(seen).toEqual([
      { count: 1, max: 5 },
      { count: 1, max: 3 },
    ]);
    expect(logger.has("max_deliver changed on the server")).toBe(true);
  });

  it('delivers only the requested event types to a consumer of several', async () => {
    const options = fresh();
    const [a, b, other] = [`A${counter}`, `B${counter}`, `C${counter}`];
    const wanted = { ...options, eventTypes: [a, b] };
    await bus.publish([storedEvent(a), storedEvent(other), storedEvent(b), storedEvent(other)]);
    const types: string[] = [];
    const handle = await bus.consume(wanted, async (batch) => {
      for (const d of batch) {
        types.push(d.event.type);
        d.ack();
      }
    });
    await waitFor(() => types.length >= 2, 'two deliveries');
    await waitUntilSettled(wanted.name);
    await handle.stop();
    expect(types.sort()).toEqual([a, b]);
  });

  it('splits the work between two processes sharing a durable name: every event handled, none by both', async () => {
    const options = fresh({ maxInFlight: 8, maxBatch: 4, maxAckPending: 16 } as Partial<ConsumerOptions>);
    const events = storedEvents(options.eventTypes[0], 200);
    await bus.publish(events);
    const other = await connectBus();
    const handledBy = new Map<string, string[]>();
    const handler =
      (who: string): BatchHandler =>
      async (batch) => {
        await delay(5);
        for (const d of batch) {
          handledBy.set(d.event.eventId, [...(handledBy.get(d.event.eventId) ?? []), who]);
          d.ack();
        }
      };
    const [h1, h2] = await Promise.all([bus.consume(options, handler('one')), other.consume(options, handler('two'))]);
    await waitFor(() => handledBy.size >= 200, () => `200 handled, got ${handledBy.size}`);
    await waitUntilSettled(options.name);
    await Promise.all([h1.stop(), h2.stop()]);

    expect([...handledBy.keys()].sort()).toEqual(events.map((e) => e.eventId).sort());
    expect([...handledBy.values()].filter((who) => who.length > 1)).toEqual([]);
    const byOne = [...handledBy.values()].filter(([who]) => who === 'one').length;
    expect(byOne).toBeGreaterThan(0);
    expect(byOne).toBeLessThan(200);
  });

  it('never holds more than maxInFlight unsettled deliveries, even when the server would allow more', async () => {
    const options = fresh({ maxInFlight: 4, maxBatch: 3, maxAckPending: 100 } as Partial<ConsumerOptions>);
    await bus.publish(storedEvents(options.eventTypes[0], 60));
    let holding = 0;
    let most = 0;
    let handled = 0;
    let concurrentCalls = 0;
    let mostCalls = 0;
    const handle = await bus.consume(options, async (batch) => {
      concurrentCalls++;
      mostCalls = Math.max(mostCalls, concurrentCalls);
      holding += batch.length;
      most = Math.max(most, holding);
      expect(batch.length).toBeLessThanOrEqual(3);
      for (const d of batch) {
        await delay(2 + Math.random() * 10);
        holding--;
        handled++;
        d.ack();
      }
      concurrentCalls--;
    });
    await waitFor(() => handled >= 60, () => `60 handled, got ${handled}`);
    await waitUntilSettled(options.name);
    await handle.stop();
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThanOrEqual(2);
    expect(mostCalls).toBeGreaterThanOrEqual(2); // batches do run concurrently
  });

  it('stop() waits for the batches in flight', async () => {
    const options = fresh();
    await bus.publish([storedEvent(options.eventTypes[0])]);
    let started = false;
    let finished = false;
    const handle = await bus.consume(options, async ([d]) => {
      started = true;
      await delay(300);
      d.ack();
      finished = true;
    });
    await waitFor(() => started, 'the handler to start');
    await handle.stop();
    expect(finished).toBe(true);
  });

  it('rejects misconfigured consumers with a clear error', async () => {
    await expect(bus.consume(fresh({ maxInFlight: 0 }), async () => undefined)).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(bus.consume(fresh({ name: 'has.dot' }), async () => undefined)).rejects.toThrow(/name/);
  });

  it('broadcasts to subscribers on every connection, by topic prefix and wildcard', async () => {
    const other = await connectBus();
    const got: Record<string, Array<[unknown, string]>> = { one: [], two: [], star: [], exact: [] };
    const offs = [
      bus.onBroadcast('run-updated', (p, t) => got.one.push([p, t])),
      other.onBroadcast('run-updated', (p, t) => got.two.push([p, t])),
      other.onBroadcast('run-updated.*', (p, t) => got.star.push([p, t])),
      other.onBroadcast('other-topic', (p, t) => got.exact.push([p, t])),
    ];
    await Promise.all([bus.flush(), other.flush()]);

    bus.broadcast('run-updated.r1', { runId: 'r1', version: 3 });
    bus.broadcast('run-updated', { all: true });
    await waitFor(() => got.one.length >= 2 && got.two.length >= 2 && got.star.length >= 1, () => JSON.stringify(got));
    expect(got.one).toEqual([
      [{ runId: 'r1', version: 3 }, 'run-updated.r1'],
      [{ all: true }, 'run-updated'],
    ]);
    expect(got.two).toEqual(got.one);
    expect(got.star).toEqual([[{ runId: 'r1', version: 3 }, 'run-updated.r1']]);
    expect(got.exact).toEqual([]);

    offs.forEach((off) => off());
    await Promise.all([bus.flush(), other.flush()]);
    bus.broadcast('run-updated.r2', {});
    await bus.flush();
    await other.flush();
    expect(got.one).toHaveLength(2);
    expect(() => bus.broadcast('bad topic', {})).toThrow(/invalid/);
    expect(() => bus.broadcast('run-updated.*', {})).toThrow(/invalid/);
  });
});
