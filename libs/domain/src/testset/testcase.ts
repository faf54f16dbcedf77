import { AssayError, TestcasesAdded, TestcasesUpdated } from '@assay/contracts';
import type { ValidationErrorEntry } from './json-schema';

/** The stream of a testset's testcases (its definition is on `testset-<id>`). */
export const testcasesStreamId = (testsetId: string) => `testcases-${testsetId}`;

/** Largest testcase: its jsonData as JSON text, in UTF-8 bytes. Keeps every event under the bus's 1 MiB message limit. */
export const MAX_TESTCASE_BYTES = 512 * 1024;
/** Most validation errors stored per testcase (the last one then says how many more there were). */
export const MAX_STORED_VALIDATION_ERRORS = 100;
/** Most testcases, and most characters of their JSON, per TestcasesAdded / TestcasesUpdated event. */
export const MAX_TESTCASES_PER_EVENT = 1000;
export const MAX_TESTCASE_EVENT_CHARS = 512 * 1024;

export function assertTestcaseData(jsonData: unknown): asserts jsonData is Record<string, unknown> {
  if (typeof jsonData !== 'object' || jsonData === null || Array.isArray(jsonData)) {
    throw new AssayError('BAD_USER_INPUT', 'A testcase is a JSON object of fields, e.g. {"question": "…", "answer": "…"}.');
  }
}

export interface TestcaseRowInput {
  /** Where the row came from (import line, or item index + 1), for refusals. */
  readonly line: number;
  /** Absent: a new testcase (it gets `newId`). Present: that testcase of the testset gets this data. */
  readonly id?: string | null;
  readonly newId: string;
  readonly jsonData: unknown;
  /** What the handler found checking jsonData against the testset's schema at `schemaRevision`. */
  readonly validationErrors: readonly ValidationErrorEntry[];
}

/**
 * A batch of testcase writes. `existing` holds, for the ids the rows carry, the testcases of this
 * testset as they are now (id → jsonText); an id that is not there is not a testcase of this
 * testset (missing, or of another testset: the same refusal for both).
 */
export interface WriteTestcases {
  readonly type: 'WriteTestcases';
  readonly testsetId: string;
  readonly schemaRevision: number;
  readonly rows: readonly TestcaseRowInput[];
  readonly existing: ReadonlyMap<string, string>;
  /** addTestcases: any bad row refuses the whole call. An import: bad rows are refused one by one. */
  readonly allOrNothing: boolean;
}

export interface TestcaseOutcome {
  readonly line: number;
  readonly testcaseId: string | null;
  readonly outcome: 'created' | 'updated' | 'unchanged' | 'refused';
  readonly invalid: boolean;
  readonly refusal?: { readonly code: string; readonly reason: string };
}

export interface TestcaseWriteDecision {
  readonly events: (TestcasesAdded | TestcasesUpdated)[];
  readonly outcomes: TestcaseOutcome[];
}

type Content = TestcasesAdded['data']['testcases'][number];

/**
 * Decides a batch of testcase writes (pure): new rows become TestcasesAdded, rows with the id of a
 * testcase of this testset become TestcasesUpdated (nothing when the data is already that, field
 * order included), anything else is refused with its line. Events are packed up to
 * MAX_TESTCASES_PER_EVENT testcases and MAX_TESTCASE_EVENT_CHARS of JSON each.
 */
export function decideTestcaseWrites(command: WriteTestcases): TestcaseWriteDecision {
  const added: Content[] = [];
  const updated: Content[] = [];
  const outcomes: TestcaseOutcome[] = [];
  // Later rows for the same id build on earlier ones in this batch.
  const current = new Map(command.existing);
  for (const row of command.rows) {
    try {
      assertTestcaseData(row.jsonData);
      const jsonText = JSON.stringify(row.jsonData);
      const bytes = Buffer.byteLength(jsonText);
      if (bytes > MAX_TESTCASE_BYTES) {
        throw new AssayError('PAYLOAD_TOO_LARGE', `a testcase is limited to ${MAX_TESTCASE_BYTES} bytes of JSON; this one has ${bytes}.`);
      }
      const invalid = row.validationErrors.length > 0;
      const validationErrors = capErrors(row.validationErrors);
      const content = (testcaseId: string): Content => ({ testcaseId, jsonText, schemaRevision: command.schemaRevision, validationErrors });
      if (!row.id) {
        added.push(content(row.newId));
        outcomes.push({ line: row.line, testcaseId: row.newId, outcome: 'created', invalid });
        continue;
      }
      const before = current.get(row.id);
      if (before === undefined) {
        throw new AssayError('TESTCASE_NOT_FOUND', `testcase ${row.id} is not in testset ${command.testsetId}: leave the id out to add a new testcase (an import reads its id column as testcase ids; ?idField= with no value keeps that column as data).`, { testcaseId: row.id });
      }
      if (before === jsonText) {
        outcomes.push({ line: row.line, testcaseId: row.id, outcome: 'unchanged', invalid });
        continue;
      }
      current.set(row.id, jsonText);
      updated.push(content(row.id));
      outcomes.push({ line: row.line, testcaseId: row.id, outcome: 'updated', invalid });
    } catch (error) {
      if (!(error instanceof AssayError)) throw error;
      if (command.allOrNothing) throw new AssayError(error.code, `Item ${row.line}: ${error.message} Nothing was added.`, { ...error.details, item: row.line });
      outcomes.push({ line: row.line, testcaseId: row.id ?? null, outcome: 'refused', invalid: false, refusal: { code: error.code, reason: `line ${row.line}: ${error.message}` } });
    }
  }
  const events: (TestcasesAdded | TestcasesUpdated)[] = [
    ...pack(added).map((testcases) => ({ type: 'TestcasesAdded' as const, data: { testsetId: command.testsetId, testcases } })),
    ...pack(updated).map((testcases) => ({ type: 'TestcasesUpdated' as const, data: { testsetId: command.testsetId, testcases } })),
  ];
  return { events, outcomes };
}

function capErrors(errors: readonly ValidationErrorEntry[]): ValidationErrorEntry[] {
  if (errors.length <= MAX_STORED_VALIDATION_ERRORS) return [...errors];
  const kept = errors.slice(0, MAX_STORED_VALIDATION_ERRORS - 1);
  return [...kept, { path: '', message: `and ${errors.length - kept.length} more errors` }];
}

/** Groups testcases into events of at most MAX_TESTCASES_PER_EVENT and about MAX_TESTCASE_EVENT_CHARS bytes. */
function pack(items: Content[]): Content[][] {
  const groups: Content[][] = [];
  let group: Content[] = [];
  let chars = 0;
  for (const item of items) {
    const size = Buffer.byteLength(item.jsonText) + JSON.stringify(item.validationErrors).length + 200;
    if (group.length && (group.length >= MAX_TESTCASES_PER_EVENT || chars + size > MAX_TESTCASE_EVENT_CHARS)) {
      groups.push(group);
      group = [];
      chars = 0;
    }
    group.push(item);
    chars += size;
  }
  if (group.length) groups.push(group);
  return groups;
}
