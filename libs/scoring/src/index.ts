// Heuristic metrics: pure functions of a record.
export type { HeuristicRecord, HeuristicResult } from './heuristics/values';
export { canonicalJson, selectField, textOf } from './heuristics/values';
export type { Scorer } from './heuristics/scorer';
export { compileHeuristic, scoreHeuristic } from './heuristics/score-heuristic';
export { LEVENSHTEIN_MAX_CODE_POINTS, codePointsOf, levenshteinDistance, levenshteinSimilarity } from './heuristics/levenshtein';
export { numberOf } from './heuristics/numeric-close';

// The scoring worker: a bus batch handler for RecordAdded.
export { createScoringHandler } from './worker/scoring-handler';
export { planMetric, planRun } from './worker/run-plan';
export type { MetricPlan, RunPlan } from './worker/run-plan';
export { ScoringFailureCode } from './worker/types';
export type { ScoringHandlerDeps, ScoringLogger, ScoringOutcome } from './worker/types';
