// Heuristic metrics: pure functions of a record.
export type { HeuristicRecord, HeuristicResult } from './heuristics/values';
export { selectField, textOf } from './heuristics/values';
export type { Scorer } from './heuristics/scorer';
export { compileHeuristic, scoreHeuristic } from './heuristics/score-heuristic';
export { LEVENSHTEIN_MAX_CODE_POINTS, codePointsOf, levenshteinDistance, levenshteinSimilarity } from './heuristics/levenshtein';
export { numberOf } from './heuristics/numeric-close';

// The scoring worker: a bus batch handler for RecordAdded.
export { createScoringHandler } from './worker/scoring-handler';
export { planMetric, planRun } from './worker/run-plan';
export type { MetricPlan, PlanOptions, PlanScorer, RunPlan } from './worker/run-plan';
// CODE heuristics: user JavaScript in QuickJS (WebAssembly) on a worker thread.
export { checkCodeMetric, CODE_SANDBOX_DEFAULTS, CodeFailureCode, CodeSandbox, CodeScoringFailure, sharedCodeSandbox } from './code/code-sandbox';
export type { CodeSandboxOptions, CompiledCode } from './code/code-sandbox';
export { ScoringFailureCode } from './worker/types';
export type { RunMetric, ScoringHandlerDeps, ScoringLogger, ScoringOutcome } from './worker/types';
// AI metrics: the LLM judge (@assay/llm) behind the scoring worker.
export { classifyJudgeError, DEFAULT_JUDGE_MODEL, judgeEach, judgeRequest, planJudge } from './judge/judge-scoring';
export type { JudgePlan, JudgeService, Judged } from './judge/judge-scoring';
