/**
 * `npm run bench`: the service-mode stack on this machine (gateway, runs and two scoring
 * processes over real PostgreSQL and NATS JetStream), fed N records through GraphQL.
 *
 *   BENCH_RECORDS (20000)  BENCH_BATCH (1000)  BENCH_CONCURRENCY (4 addRecords calls in flight)
 *   BENCH_RATE (unset: as fast as the calls in flight allow; else records/s: call n starts at n × batch ÷ rate)
 *   BENCH_SCORING (2 scoring processes)  BENCH_OUT (bench/results/pipeline-latest.json)
 *   BENCH_RECORD_BYTES (unset: ~150 bytes of inputs, outputs and expected): pad each record's
 *     inputs with a context of this many characters (RAG contexts, long transcripts)
 *   BENCH_HISTORY (0): events already in the log before the run (a store with a past), which every
 *     reader has passed before the clock starts; PostgreSQL keeps no statistics on them unless
 *     autovacuum runs, as on a young deployment.
 *
 * Prints and saves: records/s ingested (committed: each addRecords call returns after its
 * transaction commits), scores/s, seconds from the last record added to COMPLETED, and p50/p99
 * latency of runUpdated pushes (push received − lastEventAt of the newest event it reflects), and
 * on Linux the cores each process used from the first call to COMPLETED (where the time goes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { Database } from '@assay/database';
import { authHeaders, collectUntil, gql, wsClient } from '../test/support/graphql-client';
import { createRunWithTwoMetrics, makeRecord, RUN_FIELDS, RunSnapshot } from '../test/support/run-flow';
import { ServiceProcess, startServiceStack } from '../test/support/service-stack';
import { startCpuAccount } from './cpu-accounting';
import { runKickoffBench } from './kickoff-bench';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

async function main() {
  const total = env('BENCH_RECORDS', 20_000);
  const batch = env('BENCH_BATCH', 1000);
  const concurrency = env('BENCH_CONCURRENCY', 4);
  const rate = process.env.BENCH_RATE ? env('BENCH_RATE', 0) : null;
  const scoringProcesses = env('BENCH_SCORING', 2);
  // BENCH_SEPARATE_RELAY=1: the relay in a runs process of its own (ASSAY_RUNS_ROLES).
  const separateRelay = process.env.BENCH_SEPARATE_RELAY === '1';
  const out = process.env.BENCH_OUT ?? join(__dirname, 'results', 'pipeline-latest.json');

  console.log(`starting the service stack (${scoringProcesses} scoring processes)…`);
  const history = env('BENCH_HISTORY', 0);
  const recordBytes = env('BENCH_RECORD_BYTES', 0);
  const stack = await startServiceStack({ scoringProcesses, separateRelay });
  try {
    if (history > 0) await writeHistory(stack.database.url, history);
    const { run } = await createRunWithTwoMetrics(stack.httpUrl, 'bench');
    const client = wsClient(stack.wsUrl);
    const pushes = collectUntil<{ runUpdated: RunSnapshot }>(
      client,
      `subscription ($id: ID!) { runUpdated(runId: $id) { ${RUN_FIELDS} } }`,
      { id: run.id },
      ({ runUpdated }) => runUpdated.status === 'COMPLETED' && runUpdated.numRecords === total,
      600_000,
    );
    await waitForFirstPush(pushes.seen);

    // Bodies are built before the clock starts: the benchmark measures Assay, not JSON.stringify here.
    const bodies: string[] = [];
    for (let start = 0; start < total; start += batch) {
      const records = Array.from({ length: Math.min(batch, total - start) }, (_, i) => withContext(makeRecord(start + i), recordBytes));
      bodies.push(JSON.stringify({ query: 'mutation ($r: ID!, $records: [RecordInput!]!) { addRecords(runId: $r, records: $records) { id } }', variables: { r: run.id, records } }));
    }

    console.log(`adding ${total} records in batches of ${batch}, ${concurrency} calls in flight${rate ? `, paced at ${rate} records/s` : ''}…`);
    const cpu = startCpuAccount(serviceLabels(stack.processes));
    const started = performance.now();
    let next = 0;
    const callTimes: number[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const n = next++;
          const body = bodies[n];
          if (rate) {
            // Paced: call n is due at n × batch ÷ rate seconds (a late call goes at once).
            const due = started + (n * batch * 1000) / rate;
            if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
          }
          const t0 = performance.now();
          const res = await fetch(stack.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() }, body });
          const json = (await res.json()) as { errors?: unknown[] };
          if (json.errors) throw new Error(JSON.stringify(json.errors));
          callTimes.push(performance.now() - t0);
        }
      }),
    );
    const ingestEnd = performance.now();
    const ingestSeconds = (ingestEnd - started) / 1000;
    console.log(`ingested in ${ingestSeconds.toFixed(2)} s; waiting for COMPLETED…`);

    const seen = await pushes.done;
    const completedAt = seen.at(-1)!.receivedAt;
    const cpuUsed = cpu.stop();
    await client.dispose();
    const { run: done } = await gql(stack.httpUrl, `query ($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: run.id });
    if (done.status !== 'COMPLETED' || done.numScores !== total * 2) throw new Error(`unexpected end state ${JSON.stringify(done)}`);

    const wallStart = Date.now() - (performance.now() - started);
    const latencies = seen.slice(1).map(({ payload, receivedAt }) => receivedAt - Date.parse(payload.runUpdated.lastEventAt));
    const totalSeconds = (completedAt - wallStart) / 1000;
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      config: { records: total, metrics: 2, batch, concurrency, rate, scoringProcesses, separateRelay, history, recordBytes },
      ingest: {
        seconds: round(ingestSeconds),
        recordsPerSecond: Math.round(total / ingestSeconds),
        addRecordsCallMs: { p50: round(percentile(callTimes, 50)), p99: round(percentile(callTimes, 99)) },
      },
      scoring: {
        scoresPerSecond: Math.round((total * 2) / totalSeconds),
        secondsFromLastRecordToCompleted: round((completedAt - (wallStart + (ingestEnd - started))) / 1000),
        secondsFromFirstRecordToCompleted: round(totalSeconds),
      },
      pushes: {
        count: latencies.length,
        latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(Math.max(...latencies)) },
      },
      // From the first call to the COMPLETED push: cores used per process (Linux /proc), and CPU per record.
      ...(cpuUsed && {
        cpu: {
          ...cpuUsed,
          msPerRecord: round((Object.values(cpuUsed.cores).reduce((sum, cores) => sum + cores, 0) * cpuUsed.windowSeconds * 1000) / total),
        },
      }),
    };
    if (process.env.BENCH_TRACE) {
      for (const { payload, receivedAt } of seen) {
        const run = payload.runUpdated;
        console.log(`+${((receivedAt - wallStart) / 1000).toFixed(2)}s records=${run.numRecords} scores=${run.numScores} latency=${receivedAt - Date.parse(run.lastEventAt)}ms`);
      }
    }
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(`written to ${out}`);
  } finally {
    await stack.stop();
  }
}

/** Labels processes for the CPU account: each service as the stack names it, and this client. */
function serviceLabels(processes: readonly ServiceProcess[]): (pid: number) => string | undefined {
  const labels = new Map<number, string>(processes.flatMap(({ child, label }) => (child.pid === undefined ? [] : [[child.pid, label] as const])));
  labels.set(process.pid, 'bench (client)');
  return (pid) => labels.get(pid);
}

/** The record with `bytes` characters of context in its inputs (none for 0). */
function withContext(record: ReturnType<typeof makeRecord>, bytes: number) {
  if (bytes <= 0) return record;
  const sentence = 'The retrieved passage says the answer depends on the question asked. ';
  return { ...record, inputs: { ...record.inputs, context: sentence.repeat(Math.ceil(bytes / sentence.length)).slice(0, bytes) } };
}

/**
 * `count` events of a type no projector or worker handles, in one statement, on streams of 10; then
 * waits until the projector and the relay have passed them, so the clock measures the run alone.
 */
async function writeHistory(url: string, count: number) {
  const db = await Database.connect({ url, migrations: [], migrate: false, applicationName: 'bench-history' });
  try {
    console.log(`writing ${count} earlier events into the log…`);
    await db.query(
      `insert into assay_events (stream_id, stream_position, event_id, type, schema_version, data)
       select 'history-' || (g / 10), g % 10 + 1, gen_random_uuid(), 'BenchHistory', 1, jsonb_build_object('n', g, 'note', repeat('x', 200))
         from generate_series(0, $1::int - 1) g`,
      [count],
    );
    const [{ end }] = await db.query<{ end: string }>('select max(global_position)::text as end from assay_events');
    const started = Date.now();
    for (;;) {
      const [{ behind }] = await db.query<{ behind: number }>(
        `select count(*)::int as behind from (values ('read-models'), ('relay')) as r(name)
          where not exists (select 1 from assay_checkpoints c where c.name = r.name and c.global_position >= $1::bigint)`,
        [end],
      );
      if (behind === 0) break;
      if (Date.now() - started > 600_000) throw new Error('the readers did not pass the history within 10 minutes');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    console.log(`readers passed the history in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await db.close();
  }
}

async function waitForFirstPush(seen: unknown[]) {
  const deadline = Date.now() + 10_000;
  while (seen.length === 0) {
    if (Date.now() > deadline) throw new Error('no snapshot push within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (n: number) => Math.round(n * 100) / 100;

// `npm run bench -- kickoff` (or BENCH=kickoff): the kickoff benchmark instead (bench/kickoff-bench.ts).
const kickoff = process.argv.slice(2).includes('kickoff') || process.env.BENCH === 'kickoff';
(kickoff ? runKickoffBench() : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
