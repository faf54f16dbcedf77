import { Static, TSchema, Type } from '@sinclair/typebox';
import { HeuristicDefinition, EvalType, OutputType, MetricDetails, MetricSnapshot } from '../metrics/metric-definition';

/**
 * Every event Assay stores, with the schema of its current version. Payloads are plain JSON so that
 * any consumer (another service, a warehouse export, a future Kafka sink) can read them.
 * Changing a payload means adding a version here and an upcaster in `event-versions.ts`, never
 * editing a stored event.
 */
const Json = Type.Unknown();

/** Who started a run: the API (createRun), a kickoff, the playground (kickoffRun with its inputs), CI (createRun with source CI). */
export const RunSource = Type.Union([Type.Literal('API'), Type.Literal('KICKOFF'), Type.Literal('PLAYGROUND'), Type.Literal('CI')]);
export type RunSource = Static<typeof RunSource>;
export const ScoreSource = Type.Union([Type.Literal('AUTOMATIC'), Type.Literal('HUMAN')]);
export type ScoreSource = Static<typeof ScoreSource>;

export const ProjectCreated = Type.Object({ projectId: Type.String(), name: Type.String({ minLength: 1 }) });
export const MetricCreated = Type.Object({
  metricId: Type.String(),
  projectId: Type.String(),
  name: Type.String({ minLength: 1 }),
  evalType: EvalType,
  outputType: OutputType,
  heuristic: Type.Union([HeuristicDefinition, Type.Null()]),
  passingThreshold: Type.Number(),
  ...MetricDetails,
});
/** A metric's next version (issue 3): the whole definition after the change, not a diff. */
export const MetricUpdated = Type.Object({
  metricId: Type.String(),
  projectId: Type.String(),
  version: Type.Integer({ minimum: 2 }),
  name: Type.String({ minLength: 1 }),
  evalType: EvalType,
  outputType: OutputType,
  heuristic: Type.Union([HeuristicDefinition, Type.Null()]),
  passingThreshold: Type.Number(),
  description: Type.String(),
  guidelines: Type.String(),
  promptTemplate: Type.Union([Type.String(), Type.Null()]),
  evalModelName: Type.Union([Type.String(), Type.Null()]),
  temperature: Type.Union([Type.Number(), Type.Null()]),
});
export const RunCreated = Type.Object({
  runId: Type.String(),
  projectId: Type.String(),
  notes: Type.String(),
  metrics: Type.Array(MetricSnapshot),
  // Issue 3, optional and so still v1: events written before have none of them, and a run made
  // without a testset or system version leaves them out.
  testsetId: Type.Optional(Type.String()),
  /** The testset's size when the run was made. */
  numExpectedRecords: Type.Optional(Type.Integer({ minimum: 0 })),
  systemVersionId: Type.Optional(Type.String()),
  // Issue 4, optional (absent: API, one trial): who started the run, and how often each testcase runs.
  source: Type.Optional(RunSource),
  trials: Type.Optional(Type.Integer({ minimum: 1 })),
});
/** The system call that produced a record's outputs (runs the server executes): what it cost. */
export const ExecutionInfo = Type.Object({
  model: Type.String(),
  provider: Type.Optional(Type.String()),
  tokens: Type.Object({ prompt: Type.Integer({ minimum: 0 }), completion: Type.Integer({ minimum: 0 }) }),
  cost: Type.Number({ minimum: 0 }),
  latencyMs: Type.Number({ minimum: 0 }),
});
export const RecordAdded = Type.Object({
  runId: Type.String(),
  recordId: Type.String(),
  testcaseId: Type.Union([Type.String(), Type.Null()]),
  inputs: Json,
  outputs: Json,
  expected: Json,
  // Issue 4, optional: records the server executed carry their trial (0-based) and the system call.
  trial: Type.Optional(Type.Integer({ minimum: 0 })),
  execution: Type.Optional(ExecutionInfo),
});
/** What the LLM judge calls behind an outcome used (issue 4): summed into the run's cost. */
export const JudgeUsage = Type.Object({
  /** The model that answered, as the provider named it. */
  model: Type.String(),
  /** Of the calls this outcome made (0 when the answer came from the judge cache). */
  tokens: Type.Object({ prompt: Type.Integer({ minimum: 0 }), completion: Type.Integer({ minimum: 0 }) }),
  /** From the provider's prices; 0 for a cached answer or a model without a price. */
  cost: Type.Number({ minimum: 0 }),
  /** The answer came from the judge cache: no model call. */
  cached: Type.Boolean(),
});
export type JudgeUsage = Static<typeof JudgeUsage>;
export const ScoreRecorded = Type.Object({
  runId: Type.String(),
  recordId: Type.String(),
  metricId: Type.String(),
  metricVersion: Type.Integer({ minimum: 1 }),
  value: Type.Number(),
  passed: Type.Boolean(),
  reasoning: Type.String(),
  // Issue 4, optional and so still v1: absent means AUTOMATIC (a scoring worker, a judge).
  /** Who scored: AUTOMATIC (a worker: heuristic, CODE, judge) or HUMAN (submitScore, a HUMAN metric). */
  source: Type.Optional(ScoreSource),
  /** HUMAN scores: the id of the API key that submitted the score. */
  scoredBy: Type.Optional(Type.String()),
  /** Issue 4, optional: the re-score round this outcome belongs to (absent: 0, the run's first scoring). */
  round: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Issue 4, optional: the LLM judge calls behind an AI metric's score. */
  judge: Type.Optional(JudgeUsage),
});
/**
 * A person changed a human score (issue 4): submitScore again for the same (record, metric). The
 * previous value is kept so that read models move aggregates by the difference, and so that the
 * log shows what changed, by whom.
 */
export const HumanScoreCorrected = Type.Object({
  runId: Type.String(),
  recordId: Type.String(),
  metricId: Type.String(),
  metricVersion: Type.Integer({ minimum: 1 }),
  value: Type.Number(),
  passed: Type.Boolean(),
  reasoning: Type.String(),
  previousValue: Type.Number(),
  previousPassed: Type.Boolean(),
  previousReasoning: Type.String(),
  /** The id of the API key that submitted the correction. */
  correctedBy: Type.String(),
});
export const ScoringFailed = Type.Object({
  runId: Type.String(),
  recordId: Type.String(),
  metricId: Type.String(),
  metricVersion: Type.Integer({ minimum: 1 }),
  /** Stable machine-readable cause, e.g. METRIC_CONFIG_INVALID, MAX_DELIVERIES_EXCEEDED. */
  code: Type.String(),
  /** What went wrong and what to do about it, for a person. */
  reason: Type.String(),
  attempts: Type.Integer({ minimum: 1 }),
  /** Issue 4, optional: the re-score round (absent: 0). */
  round: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Issue 4, optional: judge calls made before the failure (malformed answers cost tokens too). */
  judge: Type.Optional(JudgeUsage),
});
export const RunNotesUpdated = Type.Object({ runId: Type.String(), notes: Type.String() });

// Re-scoring (issue 4, rescoreRun): existing records scored again with metrics' latest versions,
// without running the system again.
/**
 * On the stream `rescores-<runId>`: from now on the run scores these metrics at these versions (each
 * metric's latest when asked), in round `round` (1, 2, …; the run's first scoring is round 0). Read
 * models count only outcomes of each metric's current version and round. Never a HUMAN metric.
 */
export const RunRescoreRequested = Type.Object({
  runId: Type.String(),
  round: Type.Integer({ minimum: 1 }),
  metrics: Type.Array(MetricSnapshot, { minItems: 1 }),
  /** Ask the judge models again instead of answering from the judge cache (and refresh it). */
  bypassCache: Type.Boolean(),
  /** Records to score again (one RecordRescoreRequested each). */
  numRecords: Type.Integer({ minimum: 0 }),
});
/**
 * One record to score again, on the run stream in the same transaction as its RunRescoreRequested.
 * Self-contained like RecordAdded (the scoring workers consume both), with the round and metrics.
 */
export const RecordRescoreRequested = Type.Object({
  runId: Type.String(),
  recordId: Type.String(),
  testcaseId: Type.Union([Type.String(), Type.Null()]),
  inputs: Json,
  outputs: Json,
  expected: Json,
  round: Type.Integer({ minimum: 1 }),
  metricIds: Type.Array(Type.String(), { minItems: 1 }),
  bypassCache: Type.Boolean(),
});

// Runs the server executes (issue 4, kickoffRun). The run stream holds RunCreated as for any run;
// the executions live on streams of their own, so workers never contend for the run's version:
// - `executions-<runId>`: ExecutionsPlanned (what to run), then ExecutionsScheduled per batch of
//   testcases (what the bus carries to the execution workers);
// - `execution-<recordId>` (recordId derived from run, testcase and trial): RecordAdded, or
//   ExecutionFailed; appended with expectedVersion no_stream, so an execution is recorded once;
// - `kickoff-key-<hash of project and idempotencyKey>`: KickoffKeyClaimed, appended in the same
//   transaction as the run, so a key makes one run whatever the concurrency.
export const KickoffTestcase = Type.Object({
  /** Unique within the run: the testcase id, or `#<n>` for an inline testcase. */
  key: Type.String({ minLength: 1 }),
  testcaseId: Type.Union([Type.String(), Type.Null()]),
  inputs: Json,
  expected: Json,
});
export const ExecutionsPlanned = Type.Object({
  runId: Type.String(),
  projectId: Type.String(),
  systemVersionId: Type.Union([Type.String(), Type.Null()]),
  /** The prompt system config executed (the version's, or the inline one). */
  config: Json,
  trials: Type.Integer({ minimum: 1 }),
  numTestcases: Type.Integer({ minimum: 1 }),
  /** The kickoff's input (without its idempotency key): what runAgain starts again. */
  request: Json,
});
export const ExecutionsScheduled = Type.Object({
  runId: Type.String(),
  /** 1-based batch number. */
  batch: Type.Integer({ minimum: 1 }),
  trials: Type.Integer({ minimum: 1 }),
  testcases: Type.Array(KickoffTestcase, { minItems: 1 }),
});
export const ExecutionFailed = Type.Object({
  runId: Type.String(),
  recordId: Type.String(),
  testcaseId: Type.Union([Type.String(), Type.Null()]),
  trial: Type.Integer({ minimum: 0 }),
  /** LLM_UNAVAILABLE, LLM_BAD_REQUEST, TEMPLATE_RENDER_FAILED… */
  code: Type.String(),
  /** What went wrong and what to do about it, for a person. */
  reason: Type.String(),
  attempts: Type.Integer({ minimum: 1 }),
});
export const KickoffKeyClaimed = Type.Object({ projectId: Type.String(), idempotencyKey: Type.String(), runId: Type.String() });

// Testsets (issue 3). A testset's stream holds its definition; its testcases are on a stream of
// their own, so loading a testset's definition never reads its testcases.
export const FieldMapping = Type.Object({
  inputs: Type.Array(Type.String()),
  expected: Type.Array(Type.String()),
  metadata: Type.Array(Type.String()),
});
export const ValidationErrorEntry = Type.Object({ path: Type.String(), message: Type.String() });
export const TestsetCreated = Type.Object({
  testsetId: Type.String(),
  projectId: Type.String(),
  name: Type.String({ minLength: 1 }),
  description: Type.String(),
  jsonSchema: Json,
  fieldMapping: FieldMapping,
  /** Grows by one whenever jsonSchema changes: testcases record the revision they were checked against. */
  schemaRevision: Type.Integer({ minimum: 1 }),
});
/** The whole definition after the change; `droppedMappings` lists fields unmapped because the new schema lacks them. */
export const TestsetUpdated = Type.Object({
  testsetId: Type.String(),
  name: Type.String({ minLength: 1 }),
  description: Type.String(),
  jsonSchema: Json,
  fieldMapping: FieldMapping,
  schemaRevision: Type.Integer({ minimum: 1 }),
  droppedMappings: Type.Array(Type.String()),
});
export const TestcaseContent = Type.Object({
  testcaseId: Type.String(),
  /**
   * The testcase's fields, a JSON object, as JSON text: PostgreSQL's jsonb sorts object keys, and
   * a testcase must keep its field order (CSV columns, JSONL keys) to round-trip exactly.
   */
  jsonText: Type.String(),
  /** The testset's schemaRevision the data was validated against, and what that found. */
  schemaRevision: Type.Integer({ minimum: 1 }),
  validationErrors: Type.Array(ValidationErrorEntry),
});
/**
 * Testcases travel in batches (up to 1,000 and about 512 KiB of JSON per event) on the stream
 * `testcases-<testsetId>`: a 100,000-row import is some hundred events, not 100,000, and every
 * event stays well under the bus's 1 MiB message limit.
 */
export const TestcasesAdded = Type.Object({ testsetId: Type.String(), testcases: Type.Array(TestcaseContent, { minItems: 1 }) });
/** New data for existing testcases of the testset (each replaces the testcase's jsonText whole). */
export const TestcasesUpdated = Type.Object({ testsetId: Type.String(), testcases: Type.Array(TestcaseContent, { minItems: 1 }) });

// Systems (issue 3): one stream per system with its immutable versions; a per-project name
// reservation stream makes "name unique per project" an append with expectedVersion 'no_stream'.
export const SystemCreated = Type.Object({
  systemId: Type.String(),
  projectId: Type.String(),
  name: Type.String({ minLength: 1 }),
  description: Type.String(),
});
export const SystemNameReserved = Type.Object({ projectId: Type.String(), name: Type.String(), systemId: Type.String() });
export const SystemVersionCreated = Type.Object({
  systemId: Type.String(),
  versionId: Type.String(),
  name: Type.String({ minLength: 1 }),
  config: Json,
  /** Canonical JSON of config (keys sorted): equal configs, equal text. */
  configHash: Type.String(),
});
export const ProductionVersionSet = Type.Object({ systemId: Type.String(), versionId: Type.String() });

// API keys (issue 3): one stream per key, `apikey-<keyId>`. The key itself is never stored: only
// its SHA-256, so the gateway can check a presented key against its stream (see @assay/access).
export const ApiKeyCreated = Type.Object({
  keyId: Type.String({ pattern: '^[a-z0-9]{12}$' }),
  /** null: an admin key (every project); otherwise the one project the key reaches. */
  projectId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String({ minLength: 1 }),
  /** The part of the key that identifies it without revealing it, e.g. `assay_k3v9x0q2m1ab`. */
  prefix: Type.String(),
  /** Lower-case hex SHA-256 of the whole key (UTF-8). */
  keyHash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  /** The key that created this one; null when made at start-up (ASSAY_INIT_API_KEY, first start). */
  createdByKeyId: Type.Union([Type.String(), Type.Null()]),
});
export const ApiKeyRevoked = Type.Object({
  keyId: Type.String(),
  revokedByKeyId: Type.Union([Type.String(), Type.Null()]),
});

export const eventSchemas = {
  ProjectCreated,
  MetricCreated,
  MetricUpdated,
  RunCreated,
  RecordAdded,
  ScoreRecorded,
  HumanScoreCorrected,
  ScoringFailed,
  RunNotesUpdated,
  RunRescoreRequested,
  RecordRescoreRequested,
  ExecutionsPlanned,
  ExecutionsScheduled,
  ExecutionFailed,
  KickoffKeyClaimed,
  ApiKeyCreated,
  ApiKeyRevoked,
  TestsetCreated,
  TestsetUpdated,
  TestcasesAdded,
  TestcasesUpdated,
  SystemCreated,
  SystemNameReserved,
  SystemVersionCreated,
  ProductionVersionSet,
} satisfies Record<string, TSchema>;

export type EventType = keyof typeof eventSchemas;
export type EventData<T extends EventType> = Static<(typeof eventSchemas)[T]>;

/** A domain event before it is stored: what decide() returns. */
export type DomainEvent<T extends EventType = EventType> = T extends EventType
  ? { readonly type: T; readonly data: Readonly<EventData<T>> }
  : never;

export type ProjectCreated = DomainEvent<'ProjectCreated'>;
export type MetricCreated = DomainEvent<'MetricCreated'>;
export type MetricUpdated = DomainEvent<'MetricUpdated'>;
export type RunCreated = DomainEvent<'RunCreated'>;
export type RecordAdded = DomainEvent<'RecordAdded'>;
export type ScoreRecorded = DomainEvent<'ScoreRecorded'>;
export type HumanScoreCorrected = DomainEvent<'HumanScoreCorrected'>;
export type ScoringFailed = DomainEvent<'ScoringFailed'>;
export type RunNotesUpdated = DomainEvent<'RunNotesUpdated'>;
export type RunRescoreRequested = DomainEvent<'RunRescoreRequested'>;
export type RecordRescoreRequested = DomainEvent<'RecordRescoreRequested'>;
export type ExecutionsPlanned = DomainEvent<'ExecutionsPlanned'>;
export type ExecutionsScheduled = DomainEvent<'ExecutionsScheduled'>;
export type ExecutionFailed = DomainEvent<'ExecutionFailed'>;
export type KickoffKeyClaimed = DomainEvent<'KickoffKeyClaimed'>;
export type ApiKeyCreated = DomainEvent<'ApiKeyCreated'>;
export type ApiKeyRevoked = DomainEvent<'ApiKeyRevoked'>;
export type TestsetCreated = DomainEvent<'TestsetCreated'>;
export type TestsetUpdated = DomainEvent<'TestsetUpdated'>;
export type TestcasesAdded = DomainEvent<'TestcasesAdded'>;
export type TestcasesUpdated = DomainEvent<'TestcasesUpdated'>;
export type SystemCreated = DomainEvent<'SystemCreated'>;
export type SystemNameReserved = DomainEvent<'SystemNameReserved'>;
export type SystemVersionCreated = DomainEvent<'SystemVersionCreated'>;
export type ProductionVersionSet = DomainEvent<'ProductionVersionSet'>;

/** The schema version written for each event type today. */
export const currentSchemaVersion: Record<EventType, number> = {
  ProjectCreated: 1,
  MetricCreated: 1,
  MetricUpdated: 1,
  RunCreated: 1,
  RecordAdded: 1,
  ScoreRecorded: 1,
  HumanScoreCorrected: 1,
  ScoringFailed: 1,
  RunNotesUpdated: 1,
  RunRescoreRequested: 1,
  RecordRescoreRequested: 1,
  ExecutionsPlanned: 1,
  ExecutionsScheduled: 1,
  ExecutionFailed: 1,
  KickoffKeyClaimed: 1,
  ApiKeyCreated: 1,
  ApiKeyRevoked: 1,
  TestsetCreated: 1,
  TestsetUpdated: 1,
  TestcasesAdded: 1,
  TestcasesUpdated: 1,
  SystemCreated: 1,
  SystemNameReserved: 1,
  SystemVersionCreated: 1,
  ProductionVersionSet: 1,
};
