import { AssayError, TestcaseAdded, TestcaseUpdated } from '@assay/contracts';
import type { Decider } from '../decider/decider';
import { canonicalJson } from './canonical-json';
import type { ValidationErrorEntry } from './json-schema';

/** One stream per testcase: imports append to many small streams and never contend on one. */
export const testcaseStreamId = (testcaseId: string) => `testcase-${testcaseId}`;

interface TestcaseContent {
  readonly testsetId: string;
  readonly testcaseId: string;
  readonly jsonData: unknown;
  /** Checked by the handler against the testset's schema at this revision (a pure function of both). */
  readonly schemaRevision: number;
  readonly validationErrors: readonly ValidationErrorEntry[];
}

export interface AddTestcase extends TestcaseContent {
  readonly type: 'AddTestcase';
}

export interface UpdateTestcase extends TestcaseContent {
  readonly type: 'UpdateTestcase';
}

export type TestcaseCommand = AddTestcase | UpdateTestcase;
export type TestcaseEvent = TestcaseAdded | TestcaseUpdated;

export type TestcaseState =
  | { readonly exists: false }
  | { readonly exists: true; readonly testsetId: string; readonly dataKey: string };

/** Largest testcase (its jsonData as JSON text). */
export const MAX_TESTCASE_BYTES = 4 * 1024 * 1024;

export function assertTestcaseData(jsonData: unknown): asserts jsonData is Record<string, unknown> {
  if (typeof jsonData !== 'object' || jsonData === null || Array.isArray(jsonData)) {
    throw new AssayError('BAD_USER_INPUT', 'A testcase is a JSON object of fields, e.g. {"question": "…", "answer": "…"}.');
  }
}

export const testcaseDecider: Decider<TestcaseCommand, TestcaseState, TestcaseEvent> = {
  initialState: () => ({ exists: false }),

  decide(command, state) {
    assertTestcaseData(command.jsonData);
    const data = {
      testsetId: command.testsetId,
      testcaseId: command.testcaseId,
      jsonData: command.jsonData,
      schemaRevision: command.schemaRevision,
      validationErrors: [...command.validationErrors],
    };
    if (command.type === 'AddTestcase') {
      if (state.exists) throw new AssayError('BAD_USER_INPUT', `Testcase ${command.testcaseId} already exists.`);
      return [{ type: 'TestcaseAdded', data }];
    }
    // A testcase of another testset is reported exactly like a missing one.
    if (!state.exists || state.testsetId !== command.testsetId) {
      throw new AssayError('TESTCASE_NOT_FOUND', `Testcase ${command.testcaseId} not found in testset ${command.testsetId}.`);
    }
    if (state.dataKey === canonicalJson(command.jsonData)) return [];
    return [{ type: 'TestcaseUpdated', data }];
  },

  evolve(_state, event) {
    return { exists: true, testsetId: event.data.testsetId, dataKey: canonicalJson(event.data.jsonData) };
  },
};
