/**
 * `npm run bench -- kickoff` (or BENCH=kickoff npm run bench): a kickoff of 1,000 testcases with
 * one AI metric on the service-mode stack (gateway, runs, two scoring processes, each with its
 * execution worker; PostgreSQL and NATS JetStream), against the OpenAI stub answering in 200 ms,
 * with a limit of 32 model calls in flight across every process (ASSAY_LLM_MAX_CONCURRENCY).
 *
 *   BENCH_TESTCASES (1000)  BENCH_LATENCY_MS (200)  BENCH_LIMIT (32)  BENCH_SCORING (2 processes)
 *   BENCH_METRIC (ai | heuristic; default ai)  BENCH_OUT (bench/results/kickoff-latest.json)
 *
 * Measures the time from the kickoffRun call to the run's phase DONE (polled every 20 ms), and
 * compares it with the ideal the limit sets: model calls × latency ÷ limit (2,000 calls: 1,000
 * executions and 1,000 judge calls, × 0.2 s ÷ 32 = 12.5 s). Prints the ratio; the target is 1.1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { startOpenAIStub } from '@assay/testing';
import { gql } from '../test/support/graphql-client';
import { startServiceStack } from '../test/support/service-stack';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export async function runKickoffBench(): Promise<void> {
  const testcases = env('BENCH_TESTCASES', 1000);
  const latencyMs = env('BENCH_LATENCY_MS', 200);
  const limit = env('BENCH_LIMIT', 32);
  const scoringProcesses = env('BENCH_SCORING', 2);
  const metricKind = (process.env.BENCH_METRIC ?? 'ai') === 'heuristic' ? 'heuristic' : 'ai';
  const out = process.env.BENCH_OUT ?? join(__dirname, 'results', 'kickoff-latest.json');

  const stub = await startOpenAIStub({
    latencyMs,
    // The judge asks for JSON (its format instruction); the system is asked a question.
    answer: (request) => (request.messages.some((m) => m.content.includes('single JSON object')) ? JSON.stringify({ score: 4, reasoning: 'fine' }) : `answer ${/\d+/.exec(request.prompt)?.[0]}`),
  });
  console.log(`starting the service stack (${scoringProcesses} scoring processes, ${limit} model calls in flight at most)…`);
  const stack = await startServiceStack({
    scoringProcesses,
    env: { OPENAI_BASE_URL: stub.baseURL, OPENAI_API_KEY: 'bench', ASSAY_LLM_MAX_CONCURRENCY: String(limit) },
  });
  try {
    const url = stack.httpUrl;
    const { createProject } = await gql(url, 'mutation { createProject(input: { name: "kickoff bench" }) { id } }');
    const projectId = createProject.id as string;
    const { createTestset } = await gql(url, 'mutation ($p: ID!) { createTestset(input: { projectId: $p, name: "questions", fieldMapping: { inputs: ["question"], expected: ["answer"] } }) { id } }', { p: projectId });
    for (let start = 0; start < testcases; start += 1000) {
      const items = Array.from({ length: Math.min(1000, testcases - start) }, (_, i) => ({ jsonData: { question: `question ${start + i}`, answer: `answer ${start + i}` } }));
      await gql(url, 'mutation ($t: ID!, $items: [TestcaseInput!]!) { addTestcases(testsetId: $t, items: $items) { id } }', { t: createTestset.id, items });
    }
    const { createSystem } = await gql(url, 'mutation ($p: ID!) { createSystem(input: { projectId: $p, name: "bot" }) { id } }', { p: projectId });
    const { createSystemVersion } = await gql(
      url,
      'mutation ($s: ID!) { createSystemVersion(input: { systemId: $s, name: "v1", config: { modelName: "stub-model", messages: [{ role: "user", content: "{{ inputs.question }}" }] } }) { id } }',
      { s: createSystem.id },
    );
    const metricInput =
      metricKind === 'ai'
        ? 'name: "helpful", evalType: AI, outputType: INT, evalModelName: "stub-judge", promptTemplate: "Question: {{ inputs.question }}\\nAnswer: {{ outputs.output }}"'
        : 'name: "exact", evalType: HEURISTIC, outputType: BOOLEAN, heuristic: { kind: EXACT_MATCH, outputField: "output", expectedField: "answer" }';
    const { createMetric } = await gql(url, `mutation ($p: ID!) { createMetric(input: { projectId: $p, ${metricInput} }) { id } }`, { p: projectId });
    // The testset's read model must show every testcase before the kickoff reads it.
    for (;;) {
      const { testset } = await gql(url, 'query ($t: ID!) { testset(id: $t) { numTestcases } }', { t: createTestset.id });
      if (testset.numTestcases === testcases) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stub.reset();

    console.log(`kickoff of ${testcases} testcases with one ${metricKind === 'ai' ? 'AI' : 'heuristic'} metric, the model answering in ${latencyMs} ms…`);
    const started = performance.now();
    const startedAt = Date.now();
    const { kickoffRun } = await gql(url, 'mutation ($input: KickoffRunInput!) { kickoffRun(input: $input) { id } }', {
      input: { projectId, testsetId: createTestset.id, systemVersionId: createSystemVersion.id, metricIds: [createMetric.id], idempotencyKey: 'bench' },
    });
    const kickoffMs = performance.now() - started;
    const phases: { phase: string; at: number }[] = [];
    let run: { status: string; phase: string; numRecords: number; numScores: number; numFailures: number; numExecutionFailures: number };
    for (;;) {
      ({ run } = await gql(url, 'query ($id: ID!) { run(id: $id) { status phase numRecords numScores numFailures numExecutionFailures } }', { id: kickoffRun.id }));
      if (phases.at(-1)?.phase !== run.phase) phases.push({ phase: run.phase, at: round((performance.now() - started) / 1000) });
      if (run.phase === 'DONE') break;
      if (performance.now() - started > 600_000) throw new Error(`not done after 10 minutes: ${JSON.stringify(run)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const answered = stub.requests.filter((r) => r.status === 200);
    const judgeCalls = answered.filter((r) => r.messages.some((m) => m.content.includes('single JSON object'))).length;
    const calls = answered.length;
    const ideal = (calls * latencyMs) / 1000 / limit;
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      config: { testcases, metric: metricKind, latencyMs, limit, scoringProcesses },
      run: { ...run, phases },
      calls: { total: calls, executions: calls - judgeCalls, judge: judgeCalls, maxInFlightSeen: stub.maxInFlightSeen, notAnswered: stub.requests.length - calls },
      // Where the time went: the first call to reach the model, the last answer, and how full the
      // limit was in between (mean calls in flight ÷ limit).
      model: {
        firstCallAt: round((Math.min(...answered.map((r) => r.arrivedAt)) - startedAt) / 1000),
        lastAnswerAt: round((Math.max(...answered.map((r) => r.respondedAt ?? 0)) - startedAt) / 1000),
        utilisation: round(
          answered.reduce((sum, r) => sum + ((r.respondedAt ?? r.arrivedAt) - r.arrivedAt), 0) /
            ((Math.max(...answered.map((r) => r.respondedAt ?? 0)) - Math.min(...answered.map((r) => r.arrivedAt))) * limit),
        ),
      },
      seconds: round(seconds),
      kickoffCallMs: round(kickoffMs),
      idealSeconds: round(ideal),
      ratio: round(seconds / ideal),
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`measured ${result.seconds} s, ideal ${result.idealSeconds} s (${calls} calls × ${latencyMs / 1000} s ÷ ${limit}): ratio ${result.ratio}`);
    if (run.status !== 'COMPLETED') console.log(`note: the run ended ${run.status}, not COMPLETED: see its scores and execution failures`);
    if (metricKind === 'ai' && judgeCalls === 0) console.log('note: no judge call reached the model: the scoring processes score AI metrics only with an LLM judge wired in');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(`written to ${out}`);
  } finally {
    await stack.stop();
    await stub.close();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
