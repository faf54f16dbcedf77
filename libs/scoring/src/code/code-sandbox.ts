import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AssayError, OutputType } from '@assay/contracts';
import { valueRange } from '@assay/domain';
import type { HeuristicRecord, HeuristicResult } from '../heuristics/values';
import { LruCache } from '../worker/lru-cache';
import type { EngineLimits, EngineReply, EngineRequest, ScoreShape } from './sandbox-engine';

/**
 * The sandbox of CODE metrics, as the rest of Assay sees it. User code runs in QuickJS compiled to
 * WebAssembly (sandbox-engine.ts: only the language, no require/import/process/fs/network/timers,
 * a time limit by interrupt handler, a memory and a stack limit), inside a worker thread of its
 * own. The thread is the hard stop: QuickJS checks its deadline between bytecode instructions, so
 * code that spends its time in long native calls could overrun it; when a call has not answered
 * `graceMs` after its time limit, the thread is terminated and replaced, and the call fails with
 * CODE_TIMEOUT. The event loop of the calling process is never blocked by user code.
 *
 * One call at a time per sandbox (they queue); each call evaluates the source in a fresh context,
 * so records cannot see each other's state. A metric version is compiled (checked) once per
 * sandbox and source.
 */
export interface CodeSandboxOptions {
  /** Time one call may run (top-level code, score, its promise jobs). Default 1,000 ms. */
  readonly timeLimitMs?: number;
  /** Heap of one call. Default 32 MiB. */
  readonly memoryLimitBytes?: number;
  /** Interpreter stack. Default 256 KiB (about 1,500 nested calls). */
  readonly stackLimitBytes?: number;
  /** Longer reasoning strings are cut to this many characters. Default 10,000. */
  readonly maxReasoningLength?: number;
  /** How long past the time limit a call may go unanswered before its thread is terminated. Default 500 ms. */
  readonly graceMs?: number;
  /** How long the worker thread may take to start. Default 30 s. */
  readonly startTimeoutMs?: number;
}

export const CODE_SANDBOX_DEFAULTS: Required<CodeSandboxOptions> = {
  timeLimitMs: 1_000,
  memoryLimitBytes: 32 * 1024 * 1024,
  stackLimitBytes: 256 * 1024,
  maxReasoningLength: 10_000,
  graceMs: 500,
  startTimeoutMs: 30_000,
};

/** Stable codes of a CODE metric's failure on one record (ScoringFailed.code). */
export const CodeFailureCode = {
  /** The call ran past the time limit (an endless loop, or too much work). */
  CODE_TIMEOUT: 'CODE_TIMEOUT',
  /** The call allocated past the memory limit. */
  CODE_MEMORY_LIMIT: 'CODE_MEMORY_LIMIT',
  /** The code threw (its message is in the reason), or overflowed the stack. */
  CODE_ERROR: 'CODE_ERROR',
  /** score() returned something other than {score, reasoning} of the metric's output type. */
  CODE_RESULT_INVALID: 'CODE_RESULT_INVALID',
} as const;
export type CodeFailureCode = (typeof CodeFailureCode)[keyof typeof CodeFailureCode];

/** A CODE metric failed on one record, for a reason a person can act on. Deterministic: not retried. */
export class CodeScoringFailure extends Error {
  constructor(
    readonly code: CodeFailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'CodeScoringFailure';
  }
}

/** A metric version's code, checked once. */
export interface CompiledCode {
  readonly source: string;
}

const WORKER_FILE = join(__dirname, 'sandbox-worker.js');

/** A request before it gets its id. */
type EngineCall = EngineRequest extends infer R ? (R extends EngineRequest ? Omit<R, 'id'> : never) : never;

interface Thread {
  readonly worker: Worker;
  readonly started: Promise<void>;
  /** Why the thread ended, once it has. */
  ended?: string;
  onEnd?: (why: string) => void;
}

export class CodeSandbox {
  private readonly limits: Required<CodeSandboxOptions>;
  private readonly compiled = new LruCache<string, CompiledCode>(500);
  private thread: Thread | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private closed = false;
  /** Threads started so far (the first, and each replacement). */
  threadsStarted = 0;

  constructor(options: CodeSandboxOptions = {}) {
    this.limits = { ...CODE_SANDBOX_DEFAULTS, ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as CodeSandboxOptions) };
  }

  /** A sandbox with its worker thread started. */
  static async create(options: CodeSandboxOptions = {}): Promise<CodeSandbox> {
    const sandbox = new CodeSandbox(options);
    await sandbox.threadOf();
    return sandbox;
  }

  get options(): Readonly<Required<CodeSandboxOptions>> {
    return this.limits;
  }

  /**
   * Checks a metric's source: it parses as a script, its top-level code finishes within the
   * limits, and it defines a function `score`. Throws CODE_INVALID (with line and column when the
   * engine gives them); UNAVAILABLE when the sandbox cannot start.
   */
  async compile(source: string): Promise<CompiledCode> {
    const cached = this.compiled.get(source);
    if (cached) return cached;
    const reply = await this.call({ op: 'compile', source });
    if (!reply.ok) {
      const position = { ...(reply.line ? { line: reply.line } : {}), ...(reply.column ? { column: reply.column } : {}) };
      const message = reply.code === 'CODE_INVALID' ? reply.message : `The code's top-level statements fail: ${reply.message}`;
      throw new AssayError('CODE_INVALID', message, { field: 'heuristic.code', ...position });
    }
    const code = { source };
    this.compiled.set(source, code);
    return code;
  }

  /** Scores one record. Throws CodeScoringFailure for a reason recorded on the record. */
  async score(code: CompiledCode, record: HeuristicRecord, outputType: OutputType): Promise<HeuristicResult> {
    const input = JSON.stringify({ inputs: record.inputs ?? null, outputs: record.outputs ?? null, expected: record.expected ?? null });
    const reply = await this.call({ op: 'score', source: code.source, input, shape: shapeOf(outputType) });
    if (reply.ok && 'value' in reply) return { value: reply.value, reasoning: reply.reasoning };
    if (!reply.ok) throw new CodeScoringFailure(reply.code === 'CODE_INVALID' ? 'CODE_ERROR' : reply.code, reply.message);
    throw new CodeScoringFailure('CODE_ERROR', 'The sandbox gave no score.');
  }

  /** Stops the worker thread. */
  async close(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    this.thread = undefined;
    if (thread && !thread.ended) await thread.worker.terminate();
  }

  private call(request: EngineCall): Promise<EngineReply> {
    const run = this.queue.then(() => this.send(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async send(request: EngineCall): Promise<EngineReply> {
    const thread = await this.threadOf();
    const id = this.nextId++;
    return new Promise<EngineReply>((resolve) => {
      const finish = (reply: EngineReply) => {
        clearTimeout(watchdog);
        thread.worker.off('message', onMessage);
        thread.onEnd = undefined;
        resolve(reply);
      };
      const onMessage = (message: { id?: number; reply?: EngineReply }) => {
        if (message.id === id && message.reply) finish(message.reply);
      };
      // The hard stop: the interpreter did not stop itself in time (a long native call).
      const watchdog = setTimeout(() => {
        this.retire(thread, 'timeout');
        finish({ ok: false, code: 'CODE_TIMEOUT', message: `The code ran longer than the limit of ${this.limits.timeLimitMs} ms and was stopped.` });
      }, this.limits.timeLimitMs + this.limits.graceMs);
      thread.onEnd = (why) => finish({ ok: false, code: 'CODE_ERROR', message: `The sandbox stopped the code: ${why}.` });
      thread.worker.on('message', onMessage);
      thread.worker.postMessage({ ...request, id });
    });
  }

  /** The running thread, started (again) when there is none. */
  private threadOf(): Promise<Thread> {
    if (this.closed) return Promise.reject(new AssayError('UNAVAILABLE', 'The code sandbox is closed.'));
    const current = this.thread;
    if (current && !current.ended) return current.started.then(() => current);
    const thread = this.start();
    this.thread = thread;
    return thread.started.then(
      () => thread,
      (error: unknown) => {
        if (this.thread === thread) this.thread = undefined;
        throw error;
      },
    );
  }

  private start(): Thread {
    this.threadsStarted++;
    const { timeLimitMs, memoryLimitBytes, stackLimitBytes, maxReasoningLength } = this.limits;
    const limits: EngineLimits = { timeLimitMs, memoryLimitBytes, stackLimitBytes, maxReasoningLength };
    const worker = new Worker(WORKER_FILE, {
      workerData: { limits },
      // The interpreter's heap is WebAssembly memory (bounded by memoryLimitBytes); this bounds the rest.
      resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 },
    });
    worker.unref();
    const thread: Thread = {
      worker,
      started: new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.retire(thread, 'start timeout');
          reject(new AssayError('UNAVAILABLE', `The code sandbox did not start within ${this.limits.startTimeoutMs} ms.`));
        }, this.limits.startTimeoutMs);
        const onReady = (message: { ready?: boolean; error?: string }) => {
          if (message.ready === undefined) return;
          clearTimeout(timer);
          worker.off('message', onReady);
          if (message.ready) resolve();
          else reject(new AssayError('UNAVAILABLE', `The code sandbox failed to start: ${message.error}`));
        };
        worker.on('message', onReady);
        worker.once('exit', () => {
          clearTimeout(timer);
          reject(new AssayError('UNAVAILABLE', 'The code sandbox stopped while starting.'));
        });
      }),
    };
    thread.started.catch(() => undefined);
    const end = (why: string) => {
      if (thread.ended) return;
      thread.ended = why;
      thread.onEnd?.(why);
    };
    worker.on('error', (error) => end(error instanceof Error ? error.message : String(error)));
    worker.on('exit', (exitCode) => end(`its thread exited (code ${exitCode})`));
    return thread;
  }

  /** Terminates a thread; the next call starts a new one. */
  private retire(thread: Thread, why: string): void {
    thread.ended ??= why;
    if (this.thread === thread) this.thread = undefined;
    void thread.worker.terminate().catch(() => undefined);
  }
}

function shapeOf(outputType: OutputType): ScoreShape {
  if (outputType === 'BOOLEAN') return { kind: 'boolean' };
  const { min, max, integer } = valueRange(outputType);
  return { kind: 'number', min, max, integer, label: `${integer ? 'an integer' : 'a number'} from ${min} to ${max}` };
}

let shared: CodeSandbox | undefined;

/**
 * The process's sandbox, started on first use. Limits from the environment:
 * ASSAY_CODE_TIME_LIMIT_MS (default 1000), ASSAY_CODE_MEMORY_LIMIT_MB (default 32).
 */
export function sharedCodeSandbox(): CodeSandbox {
  shared ??= new CodeSandbox({
    timeLimitMs: positiveEnv('ASSAY_CODE_TIME_LIMIT_MS'),
    memoryLimitBytes: mapDefined(positiveEnv('ASSAY_CODE_MEMORY_LIMIT_MB'), (mb) => mb * 1024 * 1024),
  });
  return shared;
}

/** Checks a CODE metric's source with the process's sandbox (see CodeSandbox.compile). */
export async function checkCodeMetric(source: string): Promise<void> {
  await sharedCodeSandbox().compile(source);
}

function positiveEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, not "${raw}".`);
  return value;
}

function mapDefined<T, U>(value: T | undefined, f: (value: T) => U): U | undefined {
  return value === undefined ? undefined : f(value);
}
