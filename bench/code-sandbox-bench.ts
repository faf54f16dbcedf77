/**
 * `node -r @swc-node/register bench/code-sandbox-bench.ts`: the CODE-metric sandbox on this
 * machine. One CodeSandbox (one worker thread, calls one at a time, as a scoring process uses it):
 *
 * - calls/s of a small score() (fresh QuickJS context per call, source evaluated each time);
 * - the same with a 20 KB record;
 * - how long a call that loops forever holds the sandbox (its time limit), and how long a call
 *   stuck in native code takes before the thread is replaced, plus the first call after it.
 *
 *   BENCH_CALLS (5000)
 */
import { cpus } from 'node:os';
import { CodeSandbox } from '../libs/scoring/src/code/code-sandbox';

const calls = Number(process.env.BENCH_CALLS ?? 5_000);

const SOURCE = `function score({ inputs, outputs, expected }) {
  const a = String(outputs.answer).trim().toLowerCase();
  const b = String(expected.answer).trim().toLowerCase();
  return { score: a === b, reasoning: a === b ? 'same answer' : 'expected ' + b + ', got ' + a };
}`;

async function rate(sandbox: CodeSandbox, record: object, n: number): Promise<{ callsPerSecond: number; msPerCall: number }> {
  const code = await sandbox.compile(SOURCE);
  for (let i = 0; i < 500; i++) await sandbox.score(code, record as never, 'BOOLEAN'); // warm up (WebAssembly tiers up)
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await sandbox.score(code, record as never, 'BOOLEAN');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { callsPerSecond: Math.round(n / seconds), msPerCall: Number(((seconds * 1000) / n).toFixed(3)) };
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await f().catch(() => undefined);
  return Date.now() - started;
}

async function main() {
  const startedAt = Date.now();
  const sandbox = await CodeSandbox.create();
  const startMs = Date.now() - startedAt;
  const small = { inputs: { question: 'Capital of France?' }, outputs: { answer: 'Paris' }, expected: { answer: 'paris' } };
  const large = { ...small, inputs: { question: 'Capital of France?', context: 'lorem ipsum '.repeat(1700) } };
  const smallRate = await rate(sandbox, small, calls);
  const largeRate = await rate(sandbox, large, Math.ceil(calls / 2));
  const ok = await sandbox.compile(SOURCE);
  const loop = await sandbox.compile('function score() { for (;;) {} }');
  const native = await sandbox.compile('function score() { for (;;) "x".repeat(4e6) }');
  const loopMs = await timed(() => sandbox.score(loop, small, 'BOOLEAN'));
  const afterLoopMs = await timed(() => sandbox.score(ok, small, 'BOOLEAN'));
  const nativeMs = await timed(() => sandbox.score(native, small, 'BOOLEAN'));
  const afterRestartMs = await timed(() => sandbox.score(ok, small, 'BOOLEAN'));
  await sandbox.close();
  const result = {
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    node: process.version,
    limits: sandbox.options,
    threadStartMs: startMs,
    smallRecord: smallRate,
    record20KB: largeRate,
    endlessLoopMs: loopMs,
    nextCallAfterTimeoutMs: afterLoopMs,
    nativeLoopUntilThreadReplacedMs: nativeMs,
    firstCallOnReplacementThreadMs: afterRestartMs,
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
