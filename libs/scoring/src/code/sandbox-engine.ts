/**
 * The interpreter side of the CODE-metric sandbox: QuickJS compiled to WebAssembly
 * (quickjs-emscripten), driven synchronously. It runs inside a worker thread (see
 * sandbox-worker.js and code-sandbox.ts), so it imports nothing of Assay's own libraries: only
 * quickjs-emscripten and Node.
 *
 * What user code can reach: the language and its standard objects (Object, Array, JSON, Math,
 * RegExp, Map/Set, Date, Promise, String.normalize). Nothing else exists inside: no `require`, no
 * `import` (no module loader is installed, and code is evaluated as a script), no `process`, no
 * file system, network, timers or console.
 *
 * Limits, per call: time (QuickJS's interrupt handler stops the interpreter at the deadline, and
 * the code cannot catch it), memory (the runtime's allocator refuses past the limit), stack depth
 * (QuickJS checks it well before Node's own stack runs out). The interrupt handler runs between
 * bytecode instructions, so a long native call (a huge `repeat`, `fill` or sort) can overrun it:
 * the worker thread around this engine is the hard stop (code-sandbox.ts terminates it).
 *
 * Isolation between records: every call gets a fresh context (its own globals) into which the
 * source is evaluated again, so nothing one record leaves behind is seen by the next. The runtime
 * (the heap with its limits) is reused while calls succeed and replaced after any failure.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import {
  newQuickJSWASMModuleFromVariant,
  RELEASE_SYNC,
  type Intrinsics,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';

export interface EngineLimits {
  readonly timeLimitMs: number;
  readonly memoryLimitBytes: number;
  readonly stackLimitBytes: number;
  readonly maxReasoningLength: number;
}

/** What a score must be: BOOLEAN, or a number in [min, max] (an integer for INT). */
export type ScoreShape = { readonly kind: 'boolean' } | { readonly kind: 'number'; readonly min: number; readonly max: number; readonly integer: boolean; readonly label: string };

export type EngineFailureCode = 'CODE_TIMEOUT' | 'CODE_MEMORY_LIMIT' | 'CODE_ERROR' | 'CODE_RESULT_INVALID' | 'CODE_INVALID';

export type EngineReply =
  | { readonly ok: true; readonly value: number; readonly reasoning: string }
  | { readonly ok: true; readonly compiled: true }
  | { readonly ok: false; readonly code: EngineFailureCode; readonly message: string; readonly line?: number; readonly column?: number };

type Failure = Extract<EngineReply, { ok: false }>;

const FILENAME = 'metric.js';
/** Everything of the language except Proxy and typed arrays (neither is needed to score text). */
const INTRINSICS: Intrinsics = {
  BaseObjects: true,
  Date: true,
  Eval: true,
  StringNormalize: true,
  RegExp: true,
  JSON: true,
  MapSet: true,
  Promise: true,
};
/**
 * Reads what score() returned into plain JSON. Uses no globals the code could have replaced (only
 * operators); a getter on the result still runs, under the same limits.
 */
const READ_RESULT = `(function (r) {
  if (r === null || typeof r !== 'object') return { kind: r === null ? 'null' : typeof r };
  var s = r.score, w = r.reasoning, t = typeof s;
  return { kind: 'object', scoreType: t, score: t === 'boolean' || (t === 'number' && s === s && s !== 1 / 0 && s !== -1 / 0) ? s : null,
           scoreText: t === 'number' ? '' + s : null, reasoningType: typeof w, reasoning: typeof w === 'string' ? w : null };
})`;

interface ResultShape {
  kind: string;
  scoreType?: string;
  score?: number | boolean | null;
  /** Numbers as text: NaN and Infinity do not survive JSON. */
  scoreText?: string | null;
  reasoningType?: string;
  reasoning?: string | null;
}

type VmOutcome = { ok: true; handle: QuickJSHandle } | { ok: false; failure: Failure };

/**
 * The release build, synchronous (no asyncify: smaller, faster). Its module loader is a plain
 * require: the package's dynamic import() does not work inside Jest's VM.
 */
const load = createRequire(__filename);
const VARIANT: QuickJSSyncVariant = {
  ...(RELEASE_SYNC as QuickJSSyncVariant),
  importModuleLoader: async () =>
    load(load.resolve('@jitl/quickjs-wasmfile-release-sync/emscripten-module', { paths: [dirname(load.resolve('quickjs-emscripten'))] })),
};

export class SandboxEngine {
  private runtime: QuickJSRuntime | undefined;
  private module: QuickJSWASMModule | undefined;
  /** Set after a fault of the interpreter itself: the worker thread exits and is replaced. */
  broken = false;

  private constructor(
    module: QuickJSWASMModule,
    private readonly limits: EngineLimits,
  ) {
    this.module = module;
  }

  static async load(limits: EngineLimits): Promise<SandboxEngine> {
    return new SandboxEngine(await newQuickJSWASMModuleFromVariant(VARIANT), limits);
  }

  /** Parses as a script, runs the top-level code within the limits, and finds a function `score`. */
  compile(source: string): EngineReply {
    const outcome = this.withContext(null, (ctx, rt, deadline) => {
      const evaluated = this.eval(ctx, deadline, source);
      if (!evaluated.ok) return evaluated.failure;
      evaluated.handle.dispose();
      const type = this.eval(ctx, deadline, 'typeof score');
      if (!type.ok) return type.failure;
      const found = ctx.dump(type.handle);
      type.handle.dispose();
      void rt;
      return found === 'function' ? ({ ok: true, compiled: true } as const) : failure('CODE_INVALID', 'no-score');
    });
    if (outcome.ok) return outcome;
    if (outcome.message === 'no-score') {
      return failure(
        'CODE_INVALID',
        'The code defines no function `score`: define `function score({ inputs, outputs, expected }) { return { score, reasoning } }`.',
      );
    }
    if (outcome.code === 'CODE_INVALID') return outcome; // a SyntaxError, with its position
    return failure('CODE_INVALID', `The code's top-level statements fail: ${outcome.message}`);
  }

  /** Evaluates the source in a fresh context and calls score(JSON.parse(input)). */
  score(source: string, input: string, shape: ScoreShape): EngineReply {
    const outcome = this.withContext(input, (ctx, rt, deadline, arg) => {
      const evaluated = this.eval(ctx, deadline, source);
      if (!evaluated.ok) return evaluated.failure;
      evaluated.handle.dispose();
      const fn = this.eval(ctx, deadline, 'typeof score === "function" ? score : undefined');
      if (!fn.ok) return fn.failure;
      if (ctx.typeof(fn.handle) !== 'function') {
        fn.handle.dispose();
        return failure('CODE_ERROR', 'The code defines no function `score`.');
      }
      const called = this.settle(ctx, rt, deadline, ctx.callFunction(fn.handle, ctx.undefined, arg!));
      fn.handle.dispose();
      if (!called.ok) return called.failure;
      const reader = this.eval(ctx, deadline, READ_RESULT);
      if (!reader.ok) {
        called.handle.dispose();
        return reader.failure;
      }
      const read = this.settle(ctx, rt, deadline, ctx.callFunction(reader.handle, ctx.undefined, called.handle));
      reader.handle.dispose();
      called.handle.dispose();
      if (!read.ok) return read.failure;
      const result = ctx.dump(read.handle) as ResultShape;
      read.handle.dispose();
      return this.checkResult(result, shape);
    });
    // A SyntaxError here (the source compiled once, so only if the engine changed) is an error of the code.
    return !outcome.ok && outcome.code === 'CODE_INVALID' ? { ...outcome, code: 'CODE_ERROR' } : outcome;
  }

  private checkResult(result: ResultShape, shape: ScoreShape): EngineReply {
    const expected = shape.kind === 'boolean' ? 'a boolean' : shape.label;
    const invalid = (what: string) =>
      failure('CODE_RESULT_INVALID', `score() must return { score, reasoning } with score ${expected} and reasoning a string; ${what}.`);
    if (result.kind !== 'object') return invalid(`it returned ${result.kind === 'undefined' ? 'nothing' : result.kind}`);
    const shown = describeValue(result.scoreType, result.scoreText ?? result.score);
    let value: number;
    if (shape.kind === 'boolean') {
      if (result.scoreType !== 'boolean') return invalid(`score is ${shown}`);
      value = result.score ? 1 : 0;
    } else {
      const score = result.score;
      if (typeof score !== 'number' || score < shape.min || score > shape.max || (shape.integer && !Number.isInteger(score))) {
        return invalid(`score is ${shown}`);
      }
      value = score;
    }
    if (result.reasoningType !== 'string' && result.reasoningType !== 'undefined') return invalid(`reasoning is a ${result.reasoningType}`);
    let reasoning = result.reasoning ?? '';
    if (reasoning.length > this.limits.maxReasoningLength) reasoning = `${reasoning.slice(0, this.limits.maxReasoningLength - 1)}…`;
    return { ok: true, value, reasoning };
  }

  /**
   * Runs `body` in a fresh context of the (reused) runtime under the limits; `input` (JSON) is
   * parsed inside first, with the context's own JSON, before any user code runs.
   */
  private withContext(
    input: string | null,
    body: (ctx: QuickJSContext, rt: QuickJSRuntime, deadline: Deadline, arg: QuickJSHandle | undefined) => EngineReply,
  ): EngineReply {
    const module = this.module;
    if (!module) return failure('CODE_ERROR', 'The sandbox failed earlier and is being replaced.');
    let failed = true;
    try {
      const rt = this.runtimeOf(module);
      const deadline = new Deadline(this.limits.timeLimitMs);
      rt.setInterruptHandler(() => deadline.check());
      const ctx = rt.newContext({ intrinsics: INTRINSICS });
      try {
        let arg: QuickJSHandle | undefined;
        if (input !== null) {
          const parsed = this.parseInput(ctx, rt, deadline, input);
          if (!parsed.ok) return parsed.failure;
          arg = parsed.handle;
        }
        try {
          const reply = body(ctx, rt, deadline, arg);
          failed = !reply.ok;
          return reply;
        } finally {
          arg?.dispose();
        }
      } finally {
        ctx.dispose();
      }
    } catch (error) {
      // A fault of the interpreter itself (e.g. Node's stack ran out inside WebAssembly): its
      // memory may be inconsistent, so load a new one, and report it on this record.
      this.runtime = undefined;
      this.module = undefined;
      this.broken = true;
      return failure('CODE_ERROR', `The sandbox stopped the code: ${error instanceof Error ? error.message : String(error)}.`);
    } finally {
      // A failed call may leave garbage or a heap at its limit: the next call gets a fresh runtime.
      if (failed) this.dropRuntime();
    }
  }

  private parseInput(ctx: QuickJSContext, rt: QuickJSRuntime, deadline: Deadline, input: string): VmOutcome {
    const json = ctx.getProp(ctx.global, 'JSON');
    const parse = ctx.getProp(json, 'parse');
    const text = ctx.newString(input);
    try {
      const parsed = this.settle(ctx, rt, deadline, ctx.callFunction(parse, json, text));
      if (!parsed.ok && parsed.failure.code === 'CODE_MEMORY_LIMIT') {
        return {
          ok: false,
          failure: failure(
            'CODE_MEMORY_LIMIT',
            `The record (${input.length} characters of JSON) does not fit in the sandbox's memory limit of ${formatBytes(this.limits.memoryLimitBytes)}.`,
          ),
        };
      }
      return parsed;
    } finally {
      text.dispose();
      parse.dispose();
      json.dispose();
    }
  }

  private eval(ctx: QuickJSContext, deadline: Deadline, source: string): VmOutcome {
    const result = ctx.evalCode(source, FILENAME, { type: 'global' });
    if (result.error) {
      const error = readError(ctx, result.error);
      result.error.dispose();
      if (isSyntaxError(error)) return { ok: false, failure: syntaxFailure(error) };
      return { ok: false, failure: this.classify(error, deadline) };
    }
    return { ok: true, handle: result.value };
  }

  /** Unwraps a call's result; a promise is run to completion (its jobs count against the deadline). */
  private settle(ctx: QuickJSContext, rt: QuickJSRuntime, deadline: Deadline, result: { error?: QuickJSHandle; value?: QuickJSHandle }): VmOutcome {
    if (result.error) {
      const error = readError(ctx, result.error);
      result.error.dispose();
      return { ok: false, failure: this.classify(error, deadline) };
    }
    const handle = result.value!;
    let state = ctx.getPromiseState(handle);
    if (state.type === 'fulfilled' && state.notAPromise) return { ok: true, handle };
    try {
      if (state.type === 'pending') {
        // Run the promise's jobs; there are no timers or I/O, so it settles now or never.
        for (;;) {
          const jobs = rt.executePendingJobs();
          if (jobs.error) {
            const error = readError(ctx, jobs.error);
            jobs.error.dispose();
            return { ok: false, failure: this.classify(error, deadline) };
          }
          if (jobs.value === 0) break;
        }
        state = ctx.getPromiseState(handle);
      }
    } finally {
      handle.dispose();
    }
    if (state.type === 'fulfilled') return { ok: true, handle: state.value };
    if (state.type === 'rejected') {
      const error = readError(ctx, state.error);
      state.error.dispose();
      return { ok: false, failure: this.classify(error, deadline) };
    }
    return { ok: false, failure: failure('CODE_RESULT_INVALID', 'score() returned a promise that never settles (the sandbox has no timers or I/O to wait for).') };
  }

  private classify(error: unknown, deadline: Deadline): Failure {
    if (deadline.expired) return failure('CODE_TIMEOUT', `The code ran longer than the limit of ${this.limits.timeLimitMs} ms and was stopped.`);
    if (error === null) {
      // What QuickJS throws when it runs out of memory while building the error itself.
      return failure('CODE_MEMORY_LIMIT', `The code allocated more than the memory limit of ${formatBytes(this.limits.memoryLimitBytes)} (or threw null).`);
    }
    const { name, message, at } = describeError(error);
    if (name === 'InternalError' && message === 'out of memory') {
      return failure('CODE_MEMORY_LIMIT', `The code allocated more than the memory limit of ${formatBytes(this.limits.memoryLimitBytes)} and was stopped${at}.`);
    }
    if (name === 'InternalError' && message === 'stack overflow') return failure('CODE_ERROR', `Stack overflow (recursion too deep)${at}.`);
    return failure('CODE_ERROR', `${name ? `${name}: ` : 'threw '}${message}${at}.`);
  }

  private runtimeOf(module: QuickJSWASMModule): QuickJSRuntime {
    if (!this.runtime) {
      const rt = module.newRuntime();
      rt.setMemoryLimit(this.limits.memoryLimitBytes);
      rt.setMaxStackSize(this.limits.stackLimitBytes);
      this.runtime = rt;
    }
    return this.runtime;
  }

  private dropRuntime(): void {
    const rt = this.runtime;
    this.runtime = undefined;
    try {
      rt?.dispose();
    } catch {
      // A runtime that cannot be freed cleanly is abandoned with its interpreter.
      this.module = undefined;
      this.broken = true;
    }
  }
}

/** Wall-clock deadline of one call: calls are synchronous on this thread, so it bounds their CPU time too. */
class Deadline {
  private readonly at: number;
  expired = false;

  constructor(limitMs: number) {
    this.at = performance.now() + limitMs;
  }

  check(): boolean {
    if (!this.expired && performance.now() > this.at) this.expired = true;
    return this.expired;
  }
}

/** The thrown value as plain data (null stays null even when dumping it fails at the memory limit). */
function readError(ctx: QuickJSContext, handle: QuickJSHandle): unknown {
  return ctx.sameValue(handle, ctx.null) ? null : (ctx.dump(handle) as unknown);
}

function failure(code: EngineFailureCode, message: string, position: { line?: number; column?: number } = {}): Failure {
  return { ok: false, code, message, ...position };
}

function syntaxFailure(error: { message?: unknown; stack?: unknown; lineNumber?: unknown }): Failure {
  const position = /metric\.js:(\d+):(\d+)/.exec(String(error.stack ?? ''));
  const line = position ? Number(position[1]) : typeof error.lineNumber === 'number' ? error.lineNumber : undefined;
  const column = position ? Number(position[2]) : undefined;
  const where = line ? ` (line ${line}${column ? `, column ${column}` : ''})` : '';
  return failure('CODE_INVALID', `The code does not compile: SyntaxError: ${String(error.message ?? 'invalid syntax')}${where}.`, { line, column });
}

function isSyntaxError(error: unknown): error is { name: string; message?: unknown; stack?: unknown; lineNumber?: unknown } {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'SyntaxError';
}

function describeError(error: unknown): { name: string; message: string; at: string } {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { name, message, stack } = error as { name?: unknown; message?: unknown; stack?: unknown };
    const position = /metric\.js:(\d+)(?::(\d+))?/.exec(String(stack ?? ''));
    const at = position ? ` (line ${position[1]}${position[2] ? `, column ${position[2]}` : ''})` : '';
    return { name: typeof name === 'string' ? name : 'Error', message: String(message), at };
  }
  let shown: string;
  try {
    shown = JSON.stringify(error) ?? String(error);
  } catch {
    shown = String(error);
  }
  return { name: '', message: shown.length > 200 ? `${shown.slice(0, 200)}…` : shown, at: '' };
}

function describeValue(type: string | undefined, value: unknown): string {
  if (type === 'undefined' || type === undefined) return 'missing';
  if (type === 'number' || type === 'boolean') return `${type} ${String(value)}`;
  return `a ${type}`;
}

export function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/** Requests the worker thread takes (see code-sandbox.ts). */
export type EngineRequest =
  | { readonly id: number; readonly op: 'compile'; readonly source: string }
  | { readonly id: number; readonly op: 'score'; readonly source: string; readonly input: string; readonly shape: ScoreShape };

/**
 * The worker thread's loop: load the interpreter, say `ready`, answer requests one at a time.
 * After a fault of the interpreter it answers, then exits, and the main thread starts a new one.
 */
export function serveWorker(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  if (!parentPort) throw new Error('serveWorker() runs in a worker thread');
  SandboxEngine.load((workerData as { limits: EngineLimits }).limits).then(
    (engine) => {
      parentPort.on('message', (request: EngineRequest) => {
        const reply = request.op === 'compile' ? engine.compile(request.source) : engine.score(request.source, request.input, request.shape);
        parentPort.postMessage({ id: request.id, reply });
        if (engine.broken) process.exit(1);
      });
      parentPort.postMessage({ ready: true });
    },
    (error: unknown) => {
      parentPort.postMessage({ ready: false, error: error instanceof Error ? error.message : String(error) });
      process.exit(1);
    },
  );
}
