import type { Sql } from '@assay/database';
import { compileJsonSchema, FieldMapping, mapTestcase, validateWith, ValidationErrorEntry } from '@assay/domain';
import type { ValidateFunction } from 'ajv';
import type { Page, PageRequest, TestcaseView, TestsetQueriesApi, TestsetView } from '../types';
import { decodeSeqCursor, encodeCursor, pageSize } from '@assay/contracts';

interface TestsetRow {
  id: string;
  project_id: string;
  name: string;
  description: string;
  json_schema: unknown;
  field_mapping: FieldMapping;
  schema_revision: number;
  num_testcases: number;
  fields: string[];
  stream_version: number;
  created_at: Date;
  updated_at: Date;
}

interface TestcaseRow {
  id: string;
  testset_id: string;
  seq: string | number;
  json_text: string;
  schema_revision: number;
  validation_errors: ValidationErrorEntry[];
  created_at: Date;
  updated_at: Date;
}

const TESTSET_COLUMNS = 'id, project_id, name, description, json_schema, field_mapping, schema_revision, num_testcases, fields, stream_version, created_at, updated_at';

/** Reads of the testsets read models. */
export class TestsetQueries implements TestsetQueriesApi {
  /** Compiled schemas by testset and revision (a revision's schema never changes). */
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly sql: Sql) {}

  async getTestset(id: string): Promise<TestsetView | null> {
    const row = await this.testsetRow(id);
    return row ? toTestsetView(row) : null;
  }

  /** The stream version the read model reflects (read-your-writes), or 0 when absent. */
  async testsetStreamVersion(id: string): Promise<number> {
    const [row] = await this.sql.query<{ stream_version: number }>('select stream_version from rm_testsets where id = $1', [id]);
    return row?.stream_version ?? 0;
  }

  async listTestsets(projectId: string): Promise<TestsetView[]> {
    const rows = await this.sql.query<TestsetRow>(`select ${TESTSET_COLUMNS} from rm_testsets where project_id = $1 order by created_at, id`, [projectId]);
    return rows.map(toTestsetView);
  }

  /** In the order testcases were added; the cursor is the TestcaseAdded event's global position. */
  async listTestcases(testsetId: string, page: PageRequest): Promise<Page<TestcaseView>> {
    const limit = pageSize(page.first);
    const afterSeq = page.after ? decodeSeqCursor(page.after) : 0;
    const testset = await this.testsetRow(testsetId);
    if (!testset) return { items: [], endCursor: null, hasNextPage: false };
    const rows = await this.sql.query<TestcaseRow>(
      `select id, testset_id, seq, json_text, schema_revision, validation_errors, created_at, updated_at
       from rm_testcases where testset_id = $1 and seq > $2 order by seq limit $3`,
      [testsetId, afterSeq, limit + 1],
    );
    const items = rows.slice(0, limit).map((row) => ({ node: this.toTestcaseView(row, testset), cursor: encodeCursor([Number(row.seq)]) }));
    return { items, hasNextPage: rows.length > limit, endCursor: items.at(-1)?.cursor ?? null };
  }

  async getTestcases(testsetId: string, ids: readonly string[]): Promise<TestcaseView[]> {
    const testset = await this.testsetRow(testsetId);
    if (!testset || ids.length === 0) return [];
    const rows = await this.sql.query<TestcaseRow>(
      `select id, testset_id, seq, json_text, schema_revision, validation_errors, created_at, updated_at
       from rm_testcases where testset_id = $1 and id = any($2::text[])`,
      [testsetId, ids],
    );
    const byId = new Map(rows.map((row) => [row.id, this.toTestcaseView(row, testset)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** The JSON text of those of `ids` that are testcases of the testset. */
  async testcaseTexts(testsetId: string, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.sql.query<{ id: string; json_text: string }>('select id, json_text from rm_testcases where testset_id = $1 and id = any($2::text[])', [testsetId, [...new Set(ids)]]);
    return new Map(rows.map((r) => [r.id, r.json_text]));
  }

  /** Which of `ids` are testcases of the testset. */
  async testcasesOf(testsetId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.sql.query<{ id: string }>('select id from rm_testcases where testset_id = $1 and id = any($2::text[])', [testsetId, [...new Set(ids)]]);
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Id and data of every testcase in order, fetched by keyset pages: memory stays flat whatever
   * the testset's size, and an export reads no more than the consumer takes.
   */
  async *streamTestcaseData(testsetId: string, pageSizeHint = 5000): AsyncIterable<{ id: string; jsonText: string }> {
    let afterSeq = 0;
    for (;;) {
      const rows = await this.sql.query<{ id: string; seq: string | number; json_text: string }>(
        'select id, seq, json_text from rm_testcases where testset_id = $1 and seq > $2 order by seq limit $3',
        [testsetId, afterSeq, pageSizeHint],
      );
      for (const row of rows) yield { id: row.id, jsonText: row.json_text };
      if (rows.length < pageSizeHint) return;
      afterSeq = Number(rows[rows.length - 1].seq);
    }
  }

  async *streamTestcases(testsetId: string, pageSizeHint = 500): AsyncIterable<TestcaseView> {
    let after: string | null = null;
    for (;;) {
      const page: Page<TestcaseView> = await this.listTestcases(testsetId, { first: pageSizeHint, after });
      for (const item of page.items) yield item.node;
      if (!page.hasNextPage) return;
      after = page.endCursor;
    }
  }

  private async testsetRow(id: string): Promise<TestsetRow | undefined> {
    const [row] = await this.sql.query<TestsetRow>(`select ${TESTSET_COLUMNS} from rm_testsets where id = $1`, [id]);
    return row;
  }

  /** Mapping and validation always follow the testset as it is now; errors stored for an older schema are recomputed. */
  private toTestcaseView(row: TestcaseRow, testset: TestsetRow): TestcaseView {
    const jsonData = JSON.parse(row.json_text) as Record<string, unknown>;
    const validationErrors = row.schema_revision === testset.schema_revision ? row.validation_errors : validateWith(this.validator(testset), jsonData);
    return {
      id: row.id,
      testsetId: row.testset_id,
      jsonData,
      ...mapTestcase(jsonData, testset.field_mapping),
      validationErrors,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }

  private validator(testset: TestsetRow): ValidateFunction {
    const key = `${testset.id}@${testset.schema_revision}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = compileJsonSchema(testset.json_schema);
      if (this.validators.size >= 200) this.validators.delete(this.validators.keys().next().value as string);
      this.validators.set(key, validate);
    }
    return validate;
  }
}

export function toTestsetView(row: TestsetRow): TestsetView {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    description: row.description,
    jsonSchema: row.json_schema,
    fieldMapping: row.field_mapping,
    schemaRevision: row.schema_revision,
    numTestcases: row.num_testcases,
    fields: row.fields,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
