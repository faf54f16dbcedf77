/**
 * Throughput of batched appends: 1,000 events across 1,000 streams per call, in a fresh database.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register libs/event-store/bench/append-throughput.ts [rounds]
 *
 * Uses DATABASE_URL like the tests. Prints one JSON line per configuration.
 */
import { Database } from '@assay/database';
import { createTestDatabase } from '@assay/testing';
import { eventStoreMigrations, PostgresEventStore } from '../src';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 20);
  const testDb = await createTestDatabase('assay_bench');
  const db = await Database.connect({ url: testDb.url, migrations: eventStoreMigrations, applicationName: 'append-bench' });
  const store = new PostgresEventStore(db);
  try {
    const cases = [
      ['1000 streams x 1 event', 1000, 1],
      ['100 streams x 10 events', 100, 10],
      ['1 stream x 1000 events', 1, 1000],
    ] as const;
    for (const [caseIndex, [label, streams, perStream]] of cases.entries()) {
      const timings: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const requests = Array.from({ length: streams }, (_, s) => ({
          streamId: `bench-${caseIndex}-${round}-${s}`,
          expectedVersion: 'no_stream' as const,
          events: Array.from({ length: perStream }, (_, i) => ({
            type: 'RecordAdded',
            data: { runId: 'run-1', recordId: `r-${s}-${i}`, input: { prompt: 'x'.repeat(300) }, expected: 'y'.repeat(100) },
            metadata: { correlationId: 'bench' },
          })),
        }));
        const started = process.hrtime.bigint();
        const result = await store.append(requests);
        timings.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (result.events.length !== streams * perStream) throw new Error('wrong count');
      }
      timings.sort((a, b) => a - b);
      const median = timings[Math.floor(timings.length / 2)];
      const events = streams * perStream;
      console.log(
        JSON.stringify({ case: label, rounds, medianMs: +median.toFixed(1), p90Ms: +timings[Math.floor(timings.length * 0.9)].toFixed(1), eventsPerSecond: Math.round((events / median) * 1000) }),
      );
    }
  } finally {
    await store.close();
    await db.close();
    await testDb.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
