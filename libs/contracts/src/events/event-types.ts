import { Static, TSchema, Type } from '@sinclair/typebox';
import { HeuristicDefinition, EvalType, OutputType, MetricSnapshot } from '../metrics/metric-definition';

/**
 * Every event Assay stores, with the schema of its current version. Payloads are plain JSON so that
 * any consumer (another service, a warehouse export, a future Kafka sink) can read them.
 * Changing a payload means adding a version here and an upcaster in `event-versions.ts`, never
 * editing a stored event.
 */
const Json = Type.Unknown();

export const ProjectCreated = Type.Object({ projectId: Type.String(), name: Type.String({ minLength: 1 }) });
export const MetricCreated = Type.Object({
  metricId: Type.String(),
  projectId: Type.String(),
  name: Type.String({ minLength: 1 }),
  evalType: EvalType,
  outputType: OutputType,
  heuristic: Type.Union([HeuristicDefinition, Type.Null()]),
  passingThreshold: Type.Number(),
});
export const RunCreated = Type.Object({
  runId: Type.String(),
  projectId: Type.String(),
  notes: Type.String(),
  metrics: Type.Array(MetricSnapshot),
});
export const RecordAdded = Type.Object({
  runId: Type.String(),
  recordId: Type.String(),
  testcaseId: Type.Union([Type.String(), Type.Null()]),
  inputs: Json,
  outputs: Json,
  expected: Json,
});
export const ScoreRecorded = Type.Object({
  runId: Type.String(),
  recordId: Type.String(),
  metricId: Type.String(),
  metricVersion: Type.Integer({ minimum: 1 }),
  value: Type.Number(),
  passed: Type.Boolean(),
  reasoning: Type.String(),
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
});
export const RunNotesUpdated = Type.Object({ runId: Type.String(), notes: Type.String() });

export const eventSchemas = {
  ProjectCreated,
  MetricCreated,
  RunCreated,
  RecordAdded,
  ScoreRecorded,
  ScoringFailed,
  RunNotesUpdated,
} satisfies Record<string, TSchema>;

export type EventType = keyof typeof eventSchemas;
export type EventData<T extends EventType> = Static<(typeof eventSchemas)[T]>;

/** A domain event before it is stored: what decide() returns. */
export type DomainEvent<T extends EventType = EventType> = T extends EventType
  ? { readonly type: T; readonly data: Readonly<EventData<T>> }
  : never;

export type ProjectCreated = DomainEvent<'ProjectCreated'>;
export type MetricCreated = DomainEvent<'MetricCreated'>;
export type RunCreated = DomainEvent<'RunCreated'>;
export type RecordAdded = DomainEvent<'RecordAdded'>;
export type ScoreRecorded = DomainEvent<'ScoreRecorded'>;
export type ScoringFailed = DomainEvent<'ScoringFailed'>;
export type RunNotesUpdated = DomainEvent<'RunNotesUpdated'>;

/** The schema version written for each event type today. */
export const currentSchemaVersion: Record<EventType, number> = {
  ProjectCreated: 1,
  MetricCreated: 1,
  RunCreated: 1,
  RecordAdded: 1,
  ScoreRecorded: 1,
  ScoringFailed: 1,
  RunNotesUpdated: 1,
};
