import { randomUUID } from 'node:crypto';
import { AssayError, assertValidEventData, DomainEvent, MAX_TESTCASES_PER_CALL } from '@assay/contracts';
import {
  compileJsonSchema,
  decideTestcaseWrites,
  mapTestcase,
  projectStreamId,
  testcasesStreamId,
  TestcaseRowInput,
  TestsetCommand,
  testsetDecider,
  TestsetEvent,
  TestsetState,
  testsetStreamId,
  validateWith,
} from '@assay/domain';
import type { LogPosition, NewEvent, PostgresEventStore, StoredEvent } from '@assay/event-store';
import { VersionConflictError } from '@assay/event-store';
import type { ValidateFunction } from 'ajv';
import type { ParsedRow } from '../import-export/parse-import';
import { TESTSETS_PROCESSOR, waitForProjection } from '../read-models/testset-projections';
import type { TestsetQueries } from '../read-models/testset-queries';
import type {
  CreateTestsetInput,
  ImportBatchResult,
  ImportRow,
  RefusedRow,
  TestcaseInput,
  TestcaseView,
  TestsetCommandsApi,
  TestsetView,
  UpdateTestsetInput,
} from '../types';

export interface TestsetCommandsOptions {
  /** How long a command waits for its result to show in the read models. */
  readonly projectionTimeoutMs?: number;
}

/** What an import did, exactly: every row is counted once, as taken or refused. */
export interface ImportSummary {
  /** Rows read from the file (taken + refused). */
  rowsRead: number;
  /** Rows stored: created + updated + unchanged. */
  rowsTaken: number;
  created: number;
  updated: number;
  /** Rows carrying an id whose data was already that: nothing changed. */
  unchanged: number;
  /** Taken rows that fail the testset's schema: stored with their validation errors. */
  invalid: number;
  /** How many rows were refused (not stored). */
  refusedCount: number;
  /** The refused rows with line and reason (the first MAX_REPORTED_REFUSALS). */
  refused: RefusedRow[];
}

/** An import that stopped part-way (file too large, connection lost): `summary` says exactly what went in. */
export class ImportStoppedError extends Error {
  constructor(
    readonly cause: unknown,
    readonly summary: ImportSummary,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'ImportStoppedError';
  }
}

export const MAX_REPORTED_REFUSALS = 1000;
const CONFLICT_RETRIES = 10;

type LoadedTestset = Extract<TestsetState, { exists: true }>;

/**
 * The command side of testsets: a testset's definition lives on `testset-<id>`, its testcases on
 * `testcases-<id>` in batch events (appended with expectedVersion 'any': adds and whole-data
 * replacements do not depend on the stream's state), so one import batch is one small append.
 */
export class TestsetCommands implements TestsetCommandsApi {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(
    private readonly store: PostgresEventStore,
    private readonly queries: TestsetQueries,
    private readonly options: TestsetCommandsOptions = {},
  ) {}

  async createTestset(input: CreateTestsetInput): Promise<TestsetView> {
    await this.requireProject(input.projectId);
    const testsetId = randomUUID();
    const events = testsetDecider.decide({ type: 'CreateTestset', testsetId, ...input }, testsetDecider.initialState());
    const result = await this.store.append([{ streamId: testsetStreamId(testsetId), expectedVersion: 'no_stream', events: toNewEvents(events) }]);
    return this.waitForTestset(testsetId, result.streamVersions.get(testsetStreamId(testsetId))!);
  }

  async updateTestset(testsetId: string, input: UpdateTestsetInput): Promise<TestsetView> {
    const command: TestsetCommand = { type: 'UpdateTestset', testsetId, ...input };
    for (let attempt = 1; ; attempt++) {
      const { state, version } = await this.loadTestset(testsetId);
      const events = testsetDecider.decide(command, state);
      if (events.length === 0) return this.waitForTestset(testsetId, version);
      try {
        const result = await this.store.append([{ streamId: testsetStreamId(testsetId), expectedVersion: version, events: toNewEvents(events) }]);
        return this.waitForTestset(testsetId, result.streamVersions.get(testsetStreamId(testsetId))!);
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt >= CONFLICT_RETRIES) throw error;
      }
    }
  }

  /** All or none, in one transaction; each testcase is checked against the schema and stored with what that found. */
  async addTestcases(testsetId: string, items: readonly TestcaseInput[]): Promise<TestcaseView[]> {
    if (items.length > MAX_TESTCASES_PER_CALL) {
      throw new AssayError(
        'TOO_MANY_TESTCASES',
        `addTestcases takes at most ${MAX_TESTCASES_PER_CALL} testcases per call and got ${items.length}: nothing was added. Send batches of ${MAX_TESTCASES_PER_CALL}, or import a file (POST /testsets/{id}/import).`,
        { max: MAX_TESTCASES_PER_CALL, received: items.length },
      );
    }
    const testset = await this.requireTestset(testsetId);
    const validate = this.validator(testset);
    const rows: TestcaseRowInput[] = items.map((item, index) => ({
      line: index + 1,
      newId: randomUUID(),
      jsonData: item.jsonData,
      validationErrors: isPlainObject(item.jsonData) ? validateWith(validate, item.jsonData) : [],
    }));
    const decision = decideTestcaseWrites({ type: 'WriteTestcases', testsetId, schemaRevision: testset.schemaRevision, rows, existing: new Map(), allOrNothing: true });
    if (decision.events.length === 0) return [];
    const result = await this.store.append([{ streamId: testcasesStreamId(testsetId), expectedVersion: 'any', events: toNewEvents(decision.events) }]);
    await this.waitForTestcases(lastPosition(result.events));
    const createdAt = result.events[0].createdAt;
    return rows.map((row) => {
      const jsonData = row.jsonData as Record<string, unknown>;
      return { id: row.newId, testsetId, jsonData, ...mapTestcase(jsonData, testset.fieldMapping), validationErrors: row.validationErrors, createdAt, updatedAt: createdAt };
    });
  }

  /**
   * One batch of an import in one transaction. Rows without id become new testcases; rows with
   * the id of a testcase of this testset update it (or change nothing when the data is the same);
   * rows with any other id are refused (TESTCASE_NOT_FOUND), like a missing id anywhere else.
   * Does not wait for the read models: `importTestcases` waits once, after the last batch.
   *
   * Which ids are testcases of the testset comes from the read model; an import waits for its
   * own writes to show there before it returns, so a later import sees them. Two imports running
   * at once that both update one testcase: the later append wins (each replaces the data whole).
   */
  async importBatch(testsetId: string, rows: readonly ImportRow[]): Promise<ImportBatchResult & { position: LogPosition | null }> {
    if (rows.length > MAX_TESTCASES_PER_CALL) {
      throw new AssayError('TOO_MANY_TESTCASES', `An import batch holds at most ${MAX_TESTCASES_PER_CALL} rows.`);
    }
    const testset = await this.requireTestset(testsetId);
    const validate = this.validator(testset);
    const ids = [...new Set(rows.flatMap((row) => (row.id ? [row.id] : [])))];
    const existing = await this.queries.testcaseTexts(testsetId, ids);
    const decision = decideTestcaseWrites({
      type: 'WriteTestcases',
      testsetId,
      schemaRevision: testset.schemaRevision,
      existing,
      allOrNothing: false,
      rows: rows.map((row) => ({
        line: row.line,
        id: row.id,
        newId: randomUUID(),
        jsonData: row.jsonData,
        validationErrors: isPlainObject(row.jsonData) ? validateWith(validate, row.jsonData) : [],
      })),
    });
    const count = (outcome: string) => decision.outcomes.filter((o) => o.outcome === outcome).length;
    const refused = decision.outcomes.flatMap((o) => (o.refusal ? [{ line: o.line, ...o.refusal }] : []));
    const result = decision.events.length
      ? await this.store.append([{ streamId: testcasesStreamId(testsetId), expectedVersion: 'any', events: toNewEvents(decision.events) }])
      : { events: [] };
    return {
      created: count('created'),
      updated: count('updated'),
      unchanged: count('unchanged'),
      invalid: decision.outcomes.filter((o) => o.outcome !== 'refused' && o.invalid).length,
      refused,
      position: result.events.length ? lastPosition(result.events) : null,
    };
  }

  /**
   * Imports parsed rows batch by batch (`batchSize`, default 1,000): each batch is one transaction,
   * so a batch is in or out as a whole; the summary counts every row exactly once. The next batch
   * is parsed while the previous one is appended. Resolves once every imported testcase shows in
   * the read models. If reading stops part-way (file too large, connection lost), the batches
   * already appended stay and ImportStoppedError carries the summary of exactly those.
   */
  async importTestcases(testsetId: string, rows: AsyncIterable<ParsedRow>, options: { batchSize?: number } = {}): Promise<ImportSummary> {
    await this.requireTestset(testsetId);
    const batchSize = Math.min(options.batchSize ?? MAX_TESTCASES_PER_CALL, MAX_TESTCASES_PER_CALL);
    const summary: ImportSummary = { rowsRead: 0, rowsTaken: 0, created: 0, updated: 0, unchanged: 0, invalid: 0, refusedCount: 0, refused: [] };
    let last: LogPosition | null = null;
    const refuse = (row: RefusedRow) => {
      summary.refusedCount++;
      if (summary.refused.length < MAX_REPORTED_REFUSALS) summary.refused.push(row);
    };
    const apply = async (batch: ImportRow[], readRefusals: RefusedRow[]) => {
      const result = await this.importBatch(testsetId, batch);
      // Counted only once the batch is in: the summary never claims rows that were not stored.
      summary.rowsRead += batch.length + readRefusals.length;
      summary.created += result.created;
      summary.updated += result.updated;
      summary.unchanged += result.unchanged;
      summary.invalid += result.invalid;
      summary.rowsTaken += result.created + result.updated + result.unchanged;
      for (const row of [...readRefusals, ...result.refused].sort((a, b) => a.line - b.line)) refuse(row);
      if (result.position) last = result.position;
    };
    let batch: ImportRow[] = [];
    let readRefusals: RefusedRow[] = [];
    let inFlight: Promise<void> | null = null;
    try {
      for await (const row of rows) {
        if (row.kind === 'refused') readRefusals.push({ line: row.line, code: row.code, reason: row.reason });
        else batch.push({ line: row.line, id: row.id, jsonData: row.jsonData });
        if (batch.length >= batchSize) {
          await inFlight;
          inFlight = apply(batch, readRefusals);
          // Keep a rejection from being reported as unhandled while the next batch is parsed.
          inFlight.catch(() => undefined);
          batch = [];
          readRefusals = [];
        }
      }
      await inFlight;
      inFlight = null;
      if (batch.length || readRefusals.length) await apply(batch, readRefusals);
    } catch (error) {
      // Let the batch being appended finish: what is in the summary is what is in the store.
      await inFlight?.catch(() => undefined);
      if (last) await this.waitForTestcases(last).catch(() => undefined);
      throw new ImportStoppedError(error, summary);
    }
    if (last) await this.waitForTestcases(last);
    return summary;
  }

  private async loadTestset(testsetId: string): Promise<{ state: TestsetState; version: number }> {
    const events = await this.store.readStream(testsetStreamId(testsetId));
    let state = testsetDecider.initialState();
    for (const event of events) state = testsetDecider.evolve(state, { type: event.type, data: event.data } as TestsetEvent);
    return { state, version: events.at(-1)?.streamPosition ?? 0 };
  }

  private async requireTestset(testsetId: string): Promise<LoadedTestset> {
    const { state } = await this.loadTestset(testsetId);
    if (!state.exists) throw new AssayError('TESTSET_NOT_FOUND', `Testset ${testsetId} not found.`, { testsetId });
    return state;
  }

  private async requireProject(projectId: string): Promise<void> {
    const events = await this.store.readStream(projectStreamId(projectId), { after: 0 });
    if (events.length === 0) throw new AssayError('PROJECT_NOT_FOUND', `Project ${projectId} not found.`);
  }

  private validator(testset: LoadedTestset): ValidateFunction {
    const key = `${testset.testsetId}@${testset.schemaRevision}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = compileJsonSchema(testset.jsonSchema);
      if (this.validators.size >= 200) this.validators.delete(this.validators.keys().next().value as string);
      this.validators.set(key, validate);
    }
    return validate;
  }

  private waitForTestcases(position: LogPosition): Promise<void> {
    return waitForProjection(
      this.store,
      TESTSETS_PROCESSOR,
      position,
      this.options.projectionTimeoutMs ?? 30_000,
      () => new AssayError('UNAVAILABLE', 'The testcases were saved but are not visible yet: the runs service may be down or behind. Query them again shortly.'),
    );
  }

  /** Read-your-writes: wait until the projector has applied the testset stream up to `version`. */
  private async waitForTestset(testsetId: string, version: number): Promise<TestsetView> {
    const deadline = Date.now() + (this.options.projectionTimeoutMs ?? 10_000);
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      if ((await this.queries.testsetStreamVersion(testsetId)) >= version) {
        const view = await this.queries.getTestset(testsetId);
        if (view) return view;
      }
      if (Date.now() > deadline) {
        throw new AssayError('UNAVAILABLE', `Testset ${testsetId} was saved but is not visible yet: the runs service may be down or behind. Query it again shortly.`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function toNewEvents(events: readonly DomainEvent[]): NewEvent[] {
  return events.map((event) => {
    assertValidEventData(event.type, event.data);
    return { type: event.type, data: event.data };
  });
}

function lastPosition(events: readonly StoredEvent[]): LogPosition {
  const last = events[events.length - 1];
  return { transactionId: last.transactionId, globalPosition: last.globalPosition };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
