import type { ImportSummary } from './commands/testset-commands';
import type { ParsedRow } from './import-export/parse-import';
import type { FieldMapping, ValidationErrorEntry } from '@assay/domain';

export interface TestsetView {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly jsonSchema: unknown;
  readonly fieldMapping: FieldMapping;
  /** Grows whenever jsonSchema changes. */
  readonly schemaRevision: number;
  readonly numTestcases: number;
  /** Top-level fields of its testcases in order of first appearance (the CSV export's columns). */
  readonly fields: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface TestcaseView {
  readonly id: string;
  readonly testsetId: string;
  readonly jsonData: Record<string, unknown>;
  readonly inputs: Record<string, unknown>;
  readonly expected: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
  /** Against the testset's current schema; [] when the testcase is valid. */
  readonly validationErrors: readonly ValidationErrorEntry[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Page<T> {
  readonly items: readonly { node: T; cursor: string }[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

export interface PageRequest {
  readonly first?: number | null;
  readonly after?: string | null;
}

export interface CreateTestsetInput {
  readonly projectId: string;
  readonly name: string;
  readonly description?: string | null;
  readonly jsonSchema?: unknown;
  readonly fieldMapping?: Partial<FieldMapping> | null;
}

export interface UpdateTestsetInput {
  readonly name?: string | null;
  readonly description?: string | null;
  readonly jsonSchema?: unknown;
  readonly fieldMapping?: Partial<FieldMapping> | null;
}

export interface TestcaseInput {
  readonly jsonData: unknown;
}

/** One row of an import: new data, or (with `id`) new data for an existing testcase. */
export interface ImportRow {
  /** Where the row starts in the file (1-based line; for a JSON array, the element's number). */
  readonly line: number;
  readonly id?: string | null;
  readonly jsonData: unknown;
}

export interface RefusedRow {
  readonly line: number;
  readonly code: string;
  readonly reason: string;
}

/** What one batch of an import did. */
export interface ImportBatchResult {
  readonly created: number;
  readonly updated: number;
  /** Rows with an id whose data was already that: nothing appended. */
  readonly unchanged: number;
  /** Rows taken (created, updated or unchanged) that fail the testset's schema: stored with their errors. */
  readonly invalid: number;
  readonly refused: readonly RefusedRow[];
}

export interface TestsetCommandsApi {
  createTestset(input: CreateTestsetInput): Promise<TestsetView>;
  updateTestset(testsetId: string, input: UpdateTestsetInput): Promise<TestsetView>;
  /** At most MAX_TESTCASES_PER_CALL, in one transaction: all or none. */
  addTestcases(testsetId: string, items: readonly TestcaseInput[]): Promise<TestcaseView[]>;
  /** One import batch in one transaction; rows that cannot be taken are refused, the rest go in. */
  importBatch(testsetId: string, rows: readonly ImportRow[]): Promise<ImportBatchResult>;
  /** A whole import, batch by batch (see TestsetCommands.importTestcases); throws ImportStoppedError with the summary so far. */
  importTestcases(testsetId: string, rows: AsyncIterable<ParsedRow>, options?: { batchSize?: number }): Promise<ImportSummary>;
}

export interface TestsetQueriesApi {
  getTestset(id: string): Promise<TestsetView | null>;
  listTestsets(projectId: string): Promise<TestsetView[]>;
  listTestcases(testsetId: string, page: PageRequest): Promise<Page<TestcaseView>>;
  /** Every testcase's id and JSON text in order, page by page: constant memory for exports. */
  streamTestcaseData(testsetId: string, pageSize?: number): AsyncIterable<{ id: string; jsonText: string }>;
}

export interface TestsetsApi {
  readonly commands: TestsetCommandsApi;
  readonly queries: TestsetQueriesApi;
}
