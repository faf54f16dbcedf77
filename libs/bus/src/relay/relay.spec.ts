import { LOG_START, type StoredEvent } from '@assay/event-store';
import { testNatsUrl, uniqueBusPrefix } from '@assay/testing';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { JetStreamBus } from '../jetstream/jetstream-bus';
import { MemoryLogger } from '../test-support/memory-logger';
import { startStore, type StoreHarness } from '../test-support/store';
import { waitFor } from '../test-support/wait-for';
import { startRelay } from './relay';

const prefix = uniqueBusPrefix('relay');
const streamName = prefix.toUpperCase();
// The log's read horizon is server-wide, so another suite's long transaction stalls the relay:
// waits are generous, and a timeout says which transaction held the horizon.
jest.setTimeout(300_000);
const LOG_WAIT_MS = 120_000;

let harness: StoreHarness;

/** waitFor for conditions that depend on reading the log: long, and names the horizon's holder on timeout. */
const waitForLog = (condition: () => boolean | Promise<boolean>, what: string | (() => string)) =>
  waitFor(condition, async () => `${typeof what === 'function' ? what() : what}; ${await harness.horizonReport()}`, LOG_WAIT_MS);
let bus: JetStreamBus;
const logger = new MemoryLogger();

beforeAll(async () => {
  harness = await startStore();
  bus = await JetStreamBus.connect({ url: testNatsUrl(), streamName, subjectPrefix: prefix, logger });
});

afterAll(async () => {
  await bus.manager.streams.delete(streamName).catch(() => undefined);
  await bus.close();
  await harness.close();
});

/** Every message of the stream under `subject`, in stream order, decoded. */
async function streamContents(subject: string): Promise<StoredEvent[]> {
  const nc = await connect({ servers: testNatsUrl() });
  try {
    const consumer = await jetstream(nc).consumers.get(streamName, { filter_subjects: subject }) // a string: one filter, as 2.9 allows;
    const { num_pending: total } = await consumer.info();
    const out: StoredEvent[] = [];
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 5000 });
      for await (const m of batch) out.push(m.json<StoredEvent>());
    }
    return out;
  } finally {
    await nc.close();
  }
}

const messagesOn = async (subject: string) => (await bus.manager.streams.info(streamName, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;

describe('startRelay', () => {
  it('publishes the log to JetStream exactly once and in commit order, across a stop and restart mid-way', async () => {
    const type = 'RelayedA';
    const subject = bus.subjects.event(type);
    const appended = await harness.append(type, 2000, 100);

    const first = startRelay({ store: harness.store, db: harness.db, bus, batchSize: 100, logger, progressEveryMs: 0 });
    await waitForLog(async () => (await messagesOn(subject)) >= 300, 'the first relay to get going');
    await first.stop();
    const midway = await messagesOn(subject);
    expect(midway).toBeLessThan(2000); // really stopped mid-way

    // Events appended while no relay runs are picked up by the next one.
    const later = await harness.append(type, 200, 50);
    const second = startRelay({ store: harness.store, db: harness.db, bus, batchSize: 100, logger, progressEveryMs: 0 });
    await second.waitUntilCaughtUp();
    await second.stop();

    const relayed = await streamContents(subject);
    const expected = [...appended, ...later];
    expect(relayed).toHaveLength(expected.length);
    expect(relayed.map((e) => e.eventId)).toEqual(expected.map((e) => e.eventId)); // appends are sequential here, so commit order = append order
    expect(logger.lines.some((l) => l.message === 'relay progress')).toBe(true);
  });

  it('re-publishes a batch whose checkpoint did not commit, and JetStream drops the repeats by event id', async () => {
    const type = 'RelayedB';
    const subject = bus.subjects.event(type);
    const appended = await harness.append(type, 500, 100);
    let crashes = 1;
    // Publishes, gets every PubAck, then "crashes" before the checkpoint commits.
    const crashingBus = Object.assign(Object.create(bus) as JetStreamBus, {
      async publishCounted(events: readonly StoredEvent[]) {
        const result = await bus.publishCounted(events);
        if (crashes-- > 0) throw new Error('simulated crash after PubAck, before the checkpoint commit');
        return result;
      },
    });
    const relay = startRelay({ store: harness.store, db: harness.db, bus: crashingBus, batchSize: 200, logger, progressEveryMs: 0, name: 'relay-b' });
    await relay.waitUntilCaughtUp();
    await relay.stop();

    const relayed = await streamContents(subject);
    expect(relayed.map((e) => e.eventId)).toEqual(appended.map((e) => e.eventId));
    const progress = logger.lines.filter((l) => l.message === 'relay progress' && (l.fields as { relay: string }).relay === 'relay-b');
    expect(progress.reduce((n, l) => n + (l.fields as { duplicates: number }).duplicates, 0)).toBeGreaterThan(0);
  });

  it('keeps the checkpoint where it is while JetStream does not acknowledge', async () => {
    const type = 'RelayedC';
    await harness.append(type, 10, 10);
    let attempts = 0;
    const failingBus = Object.assign(Object.create(bus) as JetStreamBus, {
      async publishCounted(): Promise<never> {
        attempts++;
        throw new Error('no PubAck');
      },
    });
    const relay = startRelay({ store: harness.store, db: harness.db, bus: failingBus, batchSize: 100, logger, name: 'relay-c' });
    await waitForLog(() => attempts >= 2, 'a retried round');
    await relay.stop();
    expect(await harness.store.loadCheckpoint('relay-c')).toEqual(LOG_START);
    expect(logger.has('relay round failed')).toBe(true);
  });
});
