/**
 * Micro-benchmark of the shared rate governor (not a test):
 *
 *   node -r @swc-node/register libs/llm/bench/governor-bench.ts
 *
 * BENCH_CALLS (1000) judge calls against the OpenAI stub at BENCH_LATENCY_MS (200) per call, from
 * BENCH_PROCESSES (2) LlmClients with their own database connections (standing for two
 * processes), sharing a limit of BENCH_CONCURRENCY (32) calls in flight. The ideal time is set by
 * the limit: calls × latency ÷ concurrency (1000 × 0.2 s ÷ 32 = 6.25 s).
 *
 * Prints the measured time and its ratio to the ideal, and, to tell the governor's cost from the
 * machine's, the same calls made straight through the openai package with p-limit(32) and no
 * governor (the baseline). Also: the most calls the stub saw at once, the average it had in
 * flight, the split between processes, and database statements per call with their latencies.
 * Needs PostgreSQL (DATABASE_URL, as the tests).
 */
import { Database } from '@assay/database';
import { createTestDatabase, startOpenAIStub } from '@assay/testing';
import { OpenAI } from 'openai';
import pLimit from 'p-limit';
import { GovernorDatabase, LlmClient, llmMigrations, LlmJudge } from '../src';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** Counts and times the statements one process sends. */
function instrumented(db: Database): GovernorDatabase & { statements: number; timings: Map<string, number[]> } {
  const wrapper = {
    statements: 0,
    timings: new Map<string, number[]>(),
    query: async <R = any>(text: string, params?: readonly unknown[]) => {
      wrapper.statements++;
      const started = performance.now();
      try {
        return await db.query<R>(text, params);
      } finally {
        const kind = /assay_llm_(\w+)/.exec(text)?.[1] ?? 'other';
        const list = wrapper.timings.get(kind) ?? [];
        list.push(performance.now() - started);
        wrapper.timings.set(kind, list);
      }
    },
    listen: (channel: string, handler: (payload: string) => void) => db.listen(channel, handler),
  };
  return wrapper;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Number((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0).toFixed(2));
};

async function main() {
  const calls = env('BENCH_CALLS', 1000);
  const latencyMs = env('BENCH_LATENCY_MS', 200);
  const concurrency = env('BENCH_CONCURRENCY', 32);
  const processes = env('BENCH_PROCESSES', 2);
  const ideal = (calls * latencyMs) / 1000 / concurrency;
  const prompt = (i: number) => `Is the answer to record ${i} correct?`;

  const testDb = await createTestDatabase('assay_llm_bench');
  const dbs: Database[] = [];
  const stub = await startOpenAIStub({
    latencyMs,
    answer: (req) => JSON.stringify({ score: req.prompt.length % 2 === 0, reasoning: `judged: ${req.prompt}` }),
  });
  const clients: LlmClient[] = [];
  try {
    // Baseline: the openai package alone, p-limit in one process, no governor, no database.
    const sdk = new OpenAI({ baseURL: stub.baseURL, apiKey: 'bench', maxRetries: 0 });
    const limit = pLimit(concurrency);
    const ask = (i: number) => limit(() => sdk.chat.completions.create({ model: 'judge', messages: [{ role: 'user', content: prompt(i) }], response_format: { type: 'json_object' } }));
    await Promise.all(Array.from({ length: concurrency }, (_, i) => ask(i))); // warm up connections
    let started = performance.now();
    await Promise.all(Array.from({ length: calls }, (_, i) => ask(i)));
    const baselineSeconds = (performance.now() - started) / 1000;

    for (let i = 0; i < processes; i++) {
      dbs.push(await Database.connect({ url: testDb.url, migrations: llmMigrations, applicationName: `llm-bench-${i}`, poolMax: env('BENCH_POOL', 4) }));
    }
    const counted = dbs.map(instrumented);
    const provider = { name: 'bench', baseURL: stub.baseURL, maxConcurrency: concurrency, timeoutMs: 10_000 };
    for (const db of counted) clients.push(await LlmClient.connect({ db, providers: [provider] }));
    const judges = clients.map((client) => new LlmJudge(client));
    const judge = (p: number, i: number) => judges[p].judge({ provider: 'bench', model: 'judge', outputType: 'BOOLEAN', messages: [{ role: 'user', content: prompt(i) }] });
    // Warm up: configure the governor, open each client's HTTP connections.
    await Promise.all(judges.flatMap((_, p) => Array.from({ length: concurrency / processes }, (_, i) => judge(p, i))));
    stub.reset();
    for (const c of counted) {
      c.statements = 0;
      c.timings.clear();
    }

    console.log(`${calls} judge calls, ${latencyMs} ms each, ${concurrency} in flight across ${processes} processes…`);
    started = performance.now();
    const perProcess: number[] = new Array(processes).fill(0);
    await Promise.all(
      Array.from({ length: calls }, async (_, i) => {
        const p = i % processes;
        await judge(p, i);
        perProcess[p]++;
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const statements = counted.reduce((sum, c) => sum + c.statements, 0);
    const atStub = stub.requests.reduce((sum, r) => sum + (r.respondedAt! - r.arrivedAt), 0) / 1000;
    const timings: Record<string, { count: number; p50ms: number; p99ms: number }> = {};
    for (const kind of ['acquire', 'release', 'release_to', 'waiting']) {
      const all = counted.flatMap((c) => c.timings.get(kind) ?? []);
      timings[kind] = { count: all.length, p50ms: percentile(all, 0.5), p99ms: percentile(all, 0.99) };
    }

    const result = {
      calls,
      latencyMs,
      concurrency,
      processes,
      idealSeconds: ideal,
      seconds: Number(seconds.toFixed(2)),
      ratioToIdeal: Number((seconds / ideal).toFixed(3)),
      baselineSeconds: Number(baselineSeconds.toFixed(2)),
      baselineRatioToIdeal: Number((baselineSeconds / ideal).toFixed(3)),
      governorOverhead: Number((seconds / baselineSeconds).toFixed(3)),
      maxInFlightSeen: stub.maxInFlightSeen,
      averageInFlightAtStub: Number((atStub / seconds).toFixed(1)),
      requestsAtStub: stub.requests.length,
      callsPerProcess: perProcess,
      dbStatementsPerCall: Number((statements / calls).toFixed(2)),
      statementLatency: timings,
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `measured ${result.seconds} s, ideal ${ideal} s: ratio ${result.ratioToIdeal} ` +
        `(no governor on this machine now: ${result.baselineSeconds} s, ratio ${result.baselineRatioToIdeal})`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stub.close();
    await Promise.all(dbs.map((db) => db.close()));
    await testDb.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
