import { AssayError } from '@assay/contracts';
import { CompiledPromptSystem, compilePromptSystem, KickoffTestcase, MAX_KICKOFF_BYTES, MAX_KICKOFF_EXECUTIONS } from '@assay/domain';
import type { ExecutionTarget } from '../types';

/**
 * What kickoffRun and the playground look up (testsets, testcases, system versions), implemented
 * over their read models by the composition root. A lookup answers null for a missing id; the
 * caller checks the project.
 */
export interface ExecutionCatalog {
  testset(testsetId: string): Promise<{ projectId: string; numTestcases: number } | null>;
  /** Every testcase of the testset, in order (paged underneath). */
  testcases(testsetId: string): AsyncIterable<{ id: string; inputs: unknown; expected: unknown }>;
  /** Those of `ids` that are testcases of the testset, in the order of `ids`. */
  testcasesByIds(testsetId: string, ids: readonly string[]): Promise<{ id: string; inputs: unknown; expected: unknown }[]>;
  systemVersion(versionId: string): Promise<{ projectId: string; config: unknown } | null>;
}

export interface ResolvedTarget {
  readonly systemVersionId: string | null;
  readonly config: unknown;
  readonly system: CompiledPromptSystem;
  readonly testsetId: string | null;
  readonly testcases: KickoffTestcase[];
  /** KICKOFF for a system version over a whole testset; PLAYGROUND for the playground's inputs (inline config or testcases, chosen testcases). */
  readonly source: 'KICKOFF' | 'PLAYGROUND';
}

/** Most inline testcases, and their size as JSON: they travel inside one event. */
export const MAX_INLINE_TESTCASES = 1000;
export const MAX_INLINE_TESTCASES_BYTES = 256 * 1024;

export const testsetNotFound = (testsetId: string) =>
  new AssayError('TESTSET_NOT_FOUND', `Testset "${testsetId}" does not exist: check the testset id (createTestset returns it).`, { testsetId });
export const systemVersionNotFound = (systemVersionId: string) =>
  new AssayError('SYSTEM_VERSION_NOT_FOUND', `System version "${systemVersionId}" does not exist: check the id (createSystemVersion returns it).`, { systemVersionId });

/**
 * Checks and resolves what to execute: the prompt system (compiled: templates checked once) and
 * the testcases. Objects of another project are refused exactly as missing ones.
 */
export async function resolveTarget(
  catalog: ExecutionCatalog,
  target: ExecutionTarget,
  options: { maxTestcases?: number; maxBytes?: number; trials?: number } = {},
): Promise<ResolvedTarget> {
  const maxBytes = options.maxBytes ?? MAX_KICKOFF_BYTES;
  const { projectId } = target;
  const hasConfig = target.config !== undefined && target.config !== null;
  if (Boolean(target.systemVersionId) === hasConfig) {
    throw new AssayError('BAD_USER_INPUT', 'Name the system to run: systemVersionId (a prompt system version) or config (an inline prompt system config), one of the two.');
  }
  let config: unknown = target.config;
  if (target.systemVersionId) {
    const version = await catalog.systemVersion(target.systemVersionId);
    if (!version || version.projectId !== projectId) throw systemVersionNotFound(target.systemVersionId);
    config = version.config;
  }
  const system = compilePromptSystem(config);

  const inline = target.testcases !== undefined && target.testcases !== null;
  const chosen = target.testcaseIds !== undefined && target.testcaseIds !== null;
  if (inline && (target.testsetId || chosen)) {
    throw new AssayError('BAD_USER_INPUT', 'Name the testcases one way: testsetId (with testcaseIds to pick some), or inline testcases, not both.');
  }
  if (chosen && !target.testsetId) throw new AssayError('BAD_USER_INPUT', 'testcaseIds are testcases of a testset: pass its testsetId too.');
  if (!inline && !target.testsetId) throw new AssayError('BAD_USER_INPUT', 'Name the testcases to run: testsetId (a whole testset, or testcaseIds of it), or inline testcases.');

  const limit = options.maxTestcases ?? Math.floor(MAX_KICKOFF_EXECUTIONS / (options.trials ?? 1));
  const tooMany = (n: number) =>
    new AssayError('BAD_USER_INPUT', `${n} testcases${options.trials && options.trials > 1 ? ` × ${options.trials} trials` : ''} is more than one call runs (at most ${limit} testcases here): split them.`, {
      max: limit,
    });
  let testcases: KickoffTestcase[];
  if (inline) {
    testcases = inlineTestcases(target.testcases!);
    if (testcases.length > limit) throw tooMany(testcases.length);
  } else {
    const testsetId = target.testsetId!;
    const testset = await catalog.testset(testsetId);
    if (!testset || testset.projectId !== projectId) throw testsetNotFound(testsetId);
    if (chosen) {
      const ids = [...new Set(target.testcaseIds!)];
      if (ids.length === 0) throw new AssayError('BAD_USER_INPUT', 'testcaseIds is empty: list the testcases to run, or leave it out to run the whole testset.');
      if (ids.length > limit) throw tooMany(ids.length);
      const found = await catalog.testcasesByIds(testsetId, ids);
      const missing = ids.find((id) => !found.some((t) => t.id === id));
      if (missing) {
        throw new AssayError('TESTCASE_NOT_FOUND', `Testcase "${missing}" is not in testset ${testsetId}: use the ids its testcases query lists.`, { testcaseId: missing, testsetId });
      }
      testcases = found.map((t) => ({ key: t.id, testcaseId: t.id, inputs: t.inputs ?? {}, expected: t.expected ?? null }));
    } else {
      if (testset.numTestcases > limit) throw tooMany(testset.numTestcases);
      testcases = [];
      // The kickoff holds the testcases in memory and stores them in one transaction (so it is
      // atomic): bound their bytes as well as their number.
      let bytes = 0;
      for await (const t of catalog.testcases(testsetId)) {
        const testcase = { key: t.id, testcaseId: t.id, inputs: t.inputs ?? {}, expected: t.expected ?? null };
        bytes += Buffer.byteLength(JSON.stringify(testcase));
        if (bytes > maxBytes) {
          throw new AssayError(
            'BAD_USER_INPUT',
            `The testset's testcases hold more than ${Math.round(maxBytes / 2 ** 20)} MiB, more than one kickoff runs: pick some with testcaseIds and run the rest in another kickoff.`,
            { maxBytes, testsetId },
          );
        }
        testcases.push(testcase);
        if (testcases.length > limit) throw tooMany(testcases.length);
      }
      if (testcases.length === 0) {
        throw new AssayError('BAD_USER_INPUT', `Testset ${testsetId} has no testcases yet: add some (addTestcases, or an import), then start the run.`, { testsetId });
      }
    }
  }
  const source = hasConfig || inline || chosen ? 'PLAYGROUND' : 'KICKOFF';
  return { systemVersionId: target.systemVersionId ?? null, config, system, testsetId: target.testsetId ?? null, testcases, source };
}

function inlineTestcases(items: readonly unknown[]): KickoffTestcase[] {
  if (items.length === 0) throw new AssayError('BAD_USER_INPUT', 'testcases is empty: pass at least one {inputs, expected}.');
  if (items.length > MAX_INLINE_TESTCASES) {
    throw new AssayError('BAD_USER_INPUT', `${items.length} inline testcases; at most ${MAX_INLINE_TESTCASES}: put more in a testset.`, { max: MAX_INLINE_TESTCASES });
  }
  if (Buffer.byteLength(JSON.stringify(items)) > MAX_INLINE_TESTCASES_BYTES) {
    throw new AssayError('PAYLOAD_TOO_LARGE', `Inline testcases are limited to ${MAX_INLINE_TESTCASES_BYTES} bytes of JSON: put larger ones in a testset.`, { maxBytes: MAX_INLINE_TESTCASES_BYTES });
  }
  return items.map((item, index) => {
    const value = item as { inputs?: unknown; expected?: unknown } | null;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof value.inputs !== 'object' || value.inputs === null || Array.isArray(value.inputs)) {
      throw new AssayError('BAD_USER_INPUT', `testcases[${index}] must be {inputs: {…}, expected?: …}: inputs is the object the system's templates see.`, { index });
    }
    const unknownKey = Object.keys(value).find((key) => key !== 'inputs' && key !== 'expected');
    if (unknownKey) throw new AssayError('BAD_USER_INPUT', `testcases[${index}].${unknownKey} is not a testcase field (inputs, expected).`, { index });
    return { key: `#${index}`, testcaseId: null, inputs: value.inputs, expected: value.expected ?? null };
  });
}
