import { Static, Type } from '@sinclair/typebox';

/** How a metric produces its score. Issue 2 ships HEURISTIC; AI and HUMAN follow. */
export const EvalType = Type.Union([Type.Literal('HEURISTIC'), Type.Literal('AI'), Type.Literal('HUMAN')]);
export type EvalType = Static<typeof EvalType>;

/** BOOLEAN: pass/fail; INT: 1–5; FLOAT: 0–1. */
export const OutputType = Type.Union([Type.Literal('BOOLEAN'), Type.Literal('INT'), Type.Literal('FLOAT')]);
export type OutputType = Static<typeof OutputType>;

export const HeuristicKind = Type.Union([
  Type.Literal('EXACT_MATCH'),
  Type.Literal('CONTAINS'),
  Type.Literal('REGEX'),
  Type.Literal('JSON_VALID'),
  Type.Literal('LEVENSHTEIN'),
  Type.Literal('NUMERIC_CLOSE'),
]);
export type HeuristicKind = Static<typeof HeuristicKind>;

/**
 * A heuristic compares one field of the record's outputs with one field of its expected value.
 * Fields are dot paths ("answer", "choices.0.text"); absent means the whole value.
 */
export const HeuristicDefinition = Type.Object({
  kind: HeuristicKind,
  outputField: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  expectedField: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** Kind-specific: REGEX {pattern, flags}, NUMERIC_CLOSE {tolerance}, CONTAINS/EXACT_MATCH {caseSensitive}. */
  params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type HeuristicDefinition = Static<typeof HeuristicDefinition>;

/**
 * A metric exactly as a run pinned it. Runs carry this snapshot so that scoring never depends on the
 * metric's current definition: later edits create new versions and leave running runs alone.
 */
export const MetricSnapshot = Type.Object({
  metricId: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  name: Type.String(),
  evalType: EvalType,
  outputType: OutputType,
  heuristic: Type.Optional(Type.Union([HeuristicDefinition, Type.Null()])),
  /** BOOLEAN: ignored (true passes); INT: 1–5; FLOAT: 0–1. A score passes when value >= threshold. */
  passingThreshold: Type.Number(),
});
export type MetricSnapshot = Static<typeof MetricSnapshot>;
