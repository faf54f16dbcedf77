/**
 * Throughput of JetStreamBus.publish (the relay's hot path), of a durable consumer, and of the relay
 * end to end (PostgreSQL log → JetStream, checkpointed).
 *
 *   node -r @swc-node/register libs/bus/src/bench/publish-throughput.ts [events=50000] [batch=1000]
 *
 * Uses NATS_URL / DATABASE_URL like the tests; creates and deletes its own stream and database.
 */
import { testNatsUrl, uniqueBusPrefix } from '@assay/testing';
import { JetStreamBus } from '../jetstream/jetstream-bus';
import { startRelay } from '../relay/relay';
import { storedEvents } from '../test-support/events';
import { MemoryLogger } from '../test-support/memory-logger';
import { startStore } from '../test-support/store';

async function main() {
  const total = Number(process.argv[2] ?? 50_000);
  const batch = Number(process.argv[3] ?? 1000);
  const prefix = uniqueBusPrefix('bench');
  const streamName = prefix.toUpperCase();
  const bus = await JetStreamBus.connect({ url: testNatsUrl(), streamName, subjectPrefix: prefix, logger: new MemoryLogger() });
  try {
    // 1. JetStreamBus.publish alone, batches as the relay sends them.
    const events = storedEvents('BenchHappened', total).map((e) => ({ ...e, data: { runId: 'r', recordId: e.eventId, inputs: { q: 'x'.repeat(200) } } }));
    let started = Date.now();
    for (let i = 0; i < total; i += batch) await bus.publish(events.slice(i, i + batch));
    const publishMs = Date.now() - started;
    console.log(JSON.stringify({ measure: 'publish', events: total, batch, ms: publishMs, eventsPerSecond: Math.round((total / publishMs) * 1000) }));

    // 2. The same events again: all duplicates (what a relay restart costs).
    started = Date.now();
    for (let i = 0; i < total; i += batch) await bus.publish(events.slice(i, i + batch));
    const dupMs = Date.now() - started;
    console.log(JSON.stringify({ measure: 'publish-duplicates', events: total, batch, ms: dupMs, eventsPerSecond: Math.round((total / dupMs) * 1000) }));

    // 3. A durable consumer draining them: ack at once, maxInFlight 256, batches of 100.
    started = Date.now();
    let consumed = 0;
    let done!: () => void;
    const drained = new Promise<void>((resolve) => (done = resolve));
    const consumer = await bus.consume(
      { name: 'bench', eventTypes: ['BenchHappened'], maxInFlight: 256, maxBatch: 100, ackWaitMs: 30_000, maxDeliver: 5, backoffMs: [1000] },
      async (deliveries) => {
        for (const d of deliveries) d.ack();
        consumed += deliveries.length;
        if (consumed >= total) done();
      },
    );
    await drained;
    const consumeMs = Date.now() - started;
    await consumer.stop();
    console.log(JSON.stringify({ measure: 'consume', events: total, maxInFlight: 256, maxBatch: 100, ms: consumeMs, eventsPerSecond: Math.round((total / consumeMs) * 1000) }));

    // 4. The relay end to end: PostgreSQL log → JetStream, checkpointed.
    const harness = await startStore();
    try {
      const relayTotal = Math.min(total, 20_000);
      await harness.append('BenchRelayed', relayTotal, 1000);
      started = Date.now();
      const relay = startRelay({ store: harness.store, db: harness.db, bus, batchSize: batch, logger: new MemoryLogger() });
      await relay.waitUntilCaughtUp();
      const relayMs = Date.now() - started;
      await relay.stop();
      console.log(JSON.stringify({ measure: 'relay', events: relayTotal, batch, ms: relayMs, eventsPerSecond: Math.round((relayTotal / relayMs) * 1000) }));
    } finally {
      await harness.close();
    }
  } finally {
    await bus.manager.streams.delete(streamName).catch(() => undefined);
    await bus.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
