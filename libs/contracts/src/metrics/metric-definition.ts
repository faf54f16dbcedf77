import { Static, Type } from '@sinclair/typebox';

/** How a metric produces its score: a heuristic (built in or CODE), an LLM judge (AI) or a person (HUMAN). */
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
  /** A JavaScript function `score({inputs, outputs, expected})` → `{score, reasoning}`, run in a sandbox. */
  Type.Literal('CODE'),
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
  /** CODE only: JavaScript source that defines `function score({inputs, outputs, expected})`. */
  code: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type HeuristicDefinition = Static<typeof HeuristicDefinition>;

/**
 * The parts of a metric definition added in issue 3. Optional in MetricCreated and MetricSnapshot
 * (events and snapshots written before them have none: read absent as '' or null), always present
 * in MetricUpdated. A scorer finds everything it needs in the snapshot: the judge's template, model
 * and temperature, the guidelines, the CODE heuristic's source.
 */
export const MetricDetails = {
  description: Type.Optional(Type.String()),
  /** What a good output looks like, for the judge (`{{guidelines}}` in a prompt template) or a person. */
  guidelines: Type.Optional(Type.String()),
  /** AI only: Jinja template of the judge's prompt over inputs, outputs, expected and guidelines. */
  promptTemplate: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** AI only: the judge model; null means the server's default judge model. */
  evalModelName: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** AI only: sampling temperature of the judge, 0–2; null means the default (0). */
  temperature: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
};

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
  // Issue 3: optional so that snapshots pinned before them still read; absent means '' / null.
  ...MetricDetails,
});
export type MetricSnapshot = Static<typeof MetricSnapshot>;
