import { AssayError } from '@assay/contracts';
import { CodeSandbox, CodeScoringFailure } from './code-sandbox';

const record = { inputs: { question: 'Capital of France?' }, outputs: { answer: 'Paris' }, expected: { answer: 'paris' } };
const matches = `function score({ inputs, outputs, expected }) {
  const same = outputs.answer.toLowerCase() === expected.answer.toLowerCase();
  return { score: same, reasoning: same ? 'same answer' : 'different answer' };
}`;
type OutputType = 'BOOLEAN' | 'INT' | 'FLOAT';

describe('CodeSandbox', () => {
  let sandbox: CodeSandbox;

  beforeAll(async () => {
    sandbox = await CodeSandbox.create({ timeLimitMs: 500, memoryLimitBytes: 8 * 1024 * 1024, graceMs: 300 });
  });

  afterAll(() => sandbox.close());

  const scoreWith = async (source: string, input: object = record, outputType: OutputType = 'BOOLEAN') =>
    sandbox.score(await sandbox.compile(source), input as typeof record, outputType);

  async function failure(source: string, outputType: OutputType = 'BOOLEAN', input: object = record): Promise<CodeScoringFailure> {
    const code = await sandbox.compile(source);
    const error = await sandbox.score(code, input as typeof record, outputType).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error instanceof CodeScoringFailure) return error;
    throw error ?? new Error('scored');
  }

  async function compileError(source: string): Promise<AssayError> {
    const error = await sandbox.compile(source).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error instanceof AssayError) return error;
    throw error ?? new Error('compiled');
  }

  describe('scoring', () => {
    it('calls score({inputs, outputs, expected}) and reads {score, reasoning}', async () => {
      const code = await sandbox.compile(matches);
      await expect(sandbox.score(code, record, 'BOOLEAN')).resolves.toEqual({ value: 1, reasoning: 'same answer' });
      await expect(sandbox.score(code, { ...record, outputs: { answer: 'Lyon' } }, 'BOOLEAN')).resolves.toEqual({ value: 0, reasoning: 'different answer' });
    });

    it('takes INT and FLOAT scores, arrow functions, async functions and a missing reasoning', async () => {
      await expect(scoreWith('const score = ({ outputs }) => ({ score: outputs.n, reasoning: "n" })', { outputs: { n: 4 }, expected: null }, 'INT')).resolves.toEqual({
        value: 4,
        reasoning: 'n',
      });
      await expect(scoreWith('async function score() { await null; return { score: 0.25 } }', record, 'FLOAT')).resolves.toEqual({ value: 0.25, reasoning: '' });
    });

    it('gives each record a fresh context: nothing one call leaves behind is seen by the next', async () => {
      const code = await sandbox.compile(
        'let calls = 0; function score() { calls++; globalThis.seen = (globalThis.seen || 0) + 1; return { score: calls === 1 && seen === 1, reasoning: String(calls) } }',
      );
      for (let i = 0; i < 3; i++) await expect(sandbox.score(code, record, 'BOOLEAN')).resolves.toEqual({ value: 1, reasoning: '1' });
    });

    it('passes records through JSON: absent fields are null', async () => {
      const result = await scoreWith('function score(r) { return { score: true, reasoning: JSON.stringify(r) } }', { outputs: 'x', expected: undefined });
      expect(result.reasoning).toBe('{"inputs":null,"outputs":"x","expected":null}');
    });

    it('cuts a very long reasoning', async () => {
      expect((await scoreWith('function score() { return { score: true, reasoning: "x".repeat(50000) } }')).reasoning).toHaveLength(10_000);
    });
  });

  describe('limits and isolation', () => {
    it('stops a function that loops forever: CODE_TIMEOUT, even when it catches', async () => {
      const started = Date.now();
      expect(await failure('function score() { for (;;) {} }')).toMatchObject({ code: 'CODE_TIMEOUT', message: expect.stringContaining('500 ms') });
      expect((await failure('function score() { for (;;) { try { for (;;) {} } catch (e) {} } }')).code).toBe('CODE_TIMEOUT');
      expect((await failure('async function score() { for (;;) await null }')).code).toBe('CODE_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(3 * 500 + 1_000);
    });

    it('stops code stuck in long native calls by terminating its thread, without blocking the event loop', async () => {
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 20);
      const started = Date.now();
      const threads = sandbox.threadsStarted;
      try {
        // One repeat() of 20 MB takes milliseconds, and QuickJS looks at its deadline only every 10,000 instructions.
        expect(await failure('function score() { let n = 0; for (;;) n += "x".repeat(4e6).length }')).toMatchObject({ code: 'CODE_TIMEOUT' });
      } finally {
        clearInterval(ticker);
      }
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(500 + 300 + 1_000);
      expect(ticks).toBeGreaterThan(elapsed / 20 / 3);
      await expect(scoreWith(matches)).resolves.toEqual({ value: 1, reasoning: 'same answer' });
      expect(sandbox.threadsStarted).toBe(threads + 1);
    });

    it('stops a function that allocates without bound: CODE_MEMORY_LIMIT', async () => {
      // A generous time limit: what stops these is the memory limit (collecting garbage near it takes time).
      const roomy = await CodeSandbox.create({ timeLimitMs: 10_000, memoryLimitBytes: 8 * 1024 * 1024 });
      try {
        for (const source of [
          'function score() { const a = []; for (;;) a.push([a.length, a.length + 1]) }',
          'function score() { const o = {}; for (let i = 0; ; i++) o["k" + i] = i }',
          'function score() { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i }) }',
          'function score() { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i }) }',
        ]) {
          const error = await roomy.score(await roomy.compile(source), record, 'BOOLEAN').catch((e: unknown) => e);
          expect(error).toMatchObject({ code: 'CODE_MEMORY_LIMIT', message: expect.stringContaining('memory limit of 8 MiB') });
        }
      } finally {
        await roomy.close();
      }
    });

    it('reports runaway recursion as a stack overflow', async () => {
      expect(await failure('function score() { return score() }')).toMatchObject({ code: 'CODE_ERROR', message: expect.stringContaining('Stack overflow') });
    });

    it('has no require, process, file system, network, timers or modules', async () => {
      const probe = `function score() {
        return { score: true, reasoning: JSON.stringify([typeof require, typeof process, typeof fetch, typeof XMLHttpRequest, typeof WebSocket,
          typeof setTimeout, typeof console, typeof std, typeof os, typeof Deno, typeof Bun, typeof global, typeof module, typeof WebAssembly]) } }`;
      expect(JSON.parse((await scoreWith(probe)).reasoning)).toEqual(Array(14).fill('undefined'));
      expect(await failure('function score() { return require("fs").readFileSync("/etc/passwd", "utf8") }')).toMatchObject({
        code: 'CODE_ERROR',
        message: expect.stringMatching(/ReferenceError: 'require' is not defined/),
      });
      expect((await failure('function score() { return process.env }')).message).toMatch(/ReferenceError: 'process' is not defined/);
      expect((await failure('function score() { return fetch("http://example.com") }')).message).toMatch(/'fetch' is not defined/);
      expect(await failure('async function score() { const fs = await import("fs"); return { score: true } }')).toMatchObject({
        code: 'CODE_ERROR',
        message: expect.stringMatching(/could not load module 'fs'/),
      });
      expect((await failure('function score() { return Function("return this")().process.exit(1) }')).code).toBe('CODE_ERROR');
    });

    it('refuses module syntax: code is a script', async () => {
      expect(await compileError('import fs from "fs"; function score() {}')).toMatchObject({ code: 'CODE_INVALID' });
      expect(await compileError('export function score() {}')).toMatchObject({ code: 'CODE_INVALID' });
    });

    it('reports what the code threw, with its line', async () => {
      expect(await failure('function score({ outputs }) {\n  return { score: outputs.missing.length > 0 }\n}')).toMatchObject({
        code: 'CODE_ERROR',
        message: "TypeError: cannot read property 'length' of undefined (line 2, column 34).",
      });
      expect((await failure('function score() { throw "plain" }')).message).toBe('threw "plain".');
      // QuickJS throws null itself when it cannot even build its out-of-memory error.
      expect(await failure('function score() { throw null }')).toMatchObject({ code: 'CODE_MEMORY_LIMIT', message: expect.stringMatching(/memory limit.*or threw null/) });
    });

    it('checks the result against the output type: CODE_RESULT_INVALID', async () => {
      const cases: [string, OutputType, RegExp][] = [
        ['function score() {}', 'BOOLEAN', /it returned nothing/],
        ['function score() { return 1 }', 'BOOLEAN', /it returned number/],
        ['function score() { return { score: 1 } }', 'BOOLEAN', /score is number 1/],
        ['function score() { return { score: 6 } }', 'INT', /an integer from 1 to 5 and reasoning a string; score is number 6/],
        ['function score() { return { score: 2.5 } }', 'INT', /score is number 2.5/],
        ['function score() { return { score: 1.5 } }', 'FLOAT', /a number from 0 to 1.*score is number 1.5/],
        ['function score() { return { score: NaN } }', 'FLOAT', /score is number NaN/],
        ['function score() { return { score: "0.5" } }', 'FLOAT', /score is a string/],
        ['function score() { return { score: 0.5, reasoning: 42 } }', 'FLOAT', /reasoning is a number/],
        ['function score() { return new Promise(() => {}) }', 'FLOAT', /never settles/],
      ];
      for (const [source, outputType, message] of cases) {
        expect(await failure(source, outputType)).toMatchObject({ code: 'CODE_RESULT_INVALID', message: expect.stringMatching(message) });
      }
    });

    it('goes on scoring after every kind of failure', async () => {
      const code = await sandbox.compile(matches);
      const bad = [
        'function score() { for (;;) {} }',
        'function score() { const a = []; for (;;) a.push(new Array(1e5)) }',
        'function score() { return score() }',
        'function score() { for (;;) "x".repeat(4e6) }',
      ];
      for (const source of bad) {
        expect(await failure(source)).toBeInstanceOf(CodeScoringFailure);
        await expect(sandbox.score(code, record, 'BOOLEAN')).resolves.toEqual({ value: 1, reasoning: 'same answer' });
      }
    });

    it('a record too large for the memory limit fails that record only', async () => {
      const huge = { inputs: null, outputs: { answer: 'x'.repeat(9 * 1024 * 1024) }, expected: { answer: 'x' } };
      expect((await failure(matches, 'BOOLEAN', huge)).code).toBe('CODE_MEMORY_LIMIT');
      expect((await scoreWith(matches)).value).toBe(1);
    });
  });

  describe('compiling (when a metric is saved)', () => {
    it('refuses code that does not compile, with line and column', async () => {
      expect(await compileError('function score(x) {\n  return { score: 1,, }\n}')).toMatchObject({
        code: 'CODE_INVALID',
        message: 'The code does not compile: SyntaxError: invalid property name (line 2, column 21).',
        details: { field: 'heuristic.code', line: 2, column: 21 },
      });
    });

    it('refuses code that defines no score function', async () => {
      expect(await compileError('function scor() {}')).toMatchObject({ code: 'CODE_INVALID', message: expect.stringContaining('no function `score`') });
      expect(await compileError('const score = 42')).toMatchObject({ code: 'CODE_INVALID' });
    });

    it('refuses top-level code that throws or never finishes', async () => {
      expect(await compileError('throw new Error("boom"); function score() {}')).toMatchObject({ code: 'CODE_INVALID', message: expect.stringContaining('Error: boom') });
      expect(await compileError('while (true) {} function score() {}')).toMatchObject({ code: 'CODE_INVALID', message: expect.stringContaining('ran longer than the limit') });
    });
  });
});
