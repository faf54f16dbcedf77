import { isAssayError } from '@assay/contracts';
import { ExecutionCatalog, resolveTarget } from './resolve-target';

const config = { messages: [{ role: 'user', content: 'Answer {{ inputs.question }}' }], modelName: 'gpt-4o-mini' };

/** A testset of `n` testcases, each about `size` bytes as JSON. */
function catalogOf(n: number, size: number): ExecutionCatalog {
  const testcases = Array.from({ length: n }, (_, i) => ({ id: `tc-${i}`, inputs: { question: 'q'.repeat(size) }, expected: null }));
  return {
    testset: async () => ({ projectId: 'p', numTestcases: n }),
    async *testcases() {
      yield* testcases;
    },
    testcasesByIds: async (_, ids) => testcases.filter((t) => ids.includes(t.id)),
    systemVersion: async () => ({ projectId: 'p', config }),
  };
}

describe('resolveTarget: what one kickoff holds', () => {
  const target = { projectId: 'p', systemVersionId: 'v', testsetId: 't' };

  it('takes every testcase of a testset within the limits', async () => {
    const resolved = await resolveTarget(catalogOf(3, 1_000), target, { maxBytes: 10_000 });
    expect(resolved.testcases.map((t) => t.testcaseId)).toEqual(['tc-0', 'tc-1', 'tc-2']);
    expect(resolved.source).toBe('KICKOFF');
  });

  it('refuses a testset whose testcases hold more bytes than one kickoff holds, saying how to split it', async () => {
    const error = await resolveTarget(catalogOf(3, 1_000), target, { maxBytes: 2_500 }).catch((e: unknown) => e);
    expect(isAssayError(error) && error.code).toBe('BAD_USER_INPUT');
    expect((error as Error).message).toMatch(/more than one kickoff runs: pick some with testcaseIds/);
  });

  it('refuses more testcases than one kickoff runs', async () => {
    const error = await resolveTarget(catalogOf(5, 10), target, { maxTestcases: 4 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/5 testcases is more than one call runs \(at most 4/);
  });
});
