import type { JudgeUsage, MetricSnapshot } from '@assay/contracts';
import type { CodeSandbox } from '../code/code-sandbox';
import type { JudgeService } from '../judge/judge-scoring';

/**
 * What the worker concluded for one (record, metric). Same shape as `ScoringOutcome` in @assay/runs,
 * whose `recordOutcomes` stores a batch of them in one transaction, idempotently per
 * (record, metric, version): the first outcome stands.
 */
export type ScoringOutcome =
  | { kind: 'score'; runId: string; recordId: string; metric: MetricSnapshot; value: number; reasoning: string; round?: number; judge?: JudgeUsage }
  | { kind: 'failure'; runId: string; recordId: string; metric: MetricSnapshot; code: string; reason: string; attempts: number; round?: number; judge?: JudgeUsage };

/** A metric as a run scores it now: a snapshot, with the re-score round its outcomes carry (absent: 0). */
export type RunMetric = MetricSnapshot & { readonly round?: number };

/** Stable codes of the failures the worker records (ScoringFailed.code). */
export const ScoringFailureCode = {
  /** The metric's evalType is not scored by this worker (yet), or AI without an LLM judge configured. */
  METRIC_UNSUPPORTED: 'METRIC_UNSUPPORTED',
  // AI metrics (LLM judge), per record:
  /** The judge's answers were not `{score, reasoning}` of the output type, after asking again; the reason quotes the raw text. */
  JUDGE_OUTPUT_INVALID: 'JUDGE_OUTPUT_INVALID',
  /** The metric's prompt template prints a field this record lacks. */
  TEMPLATE_RENDER_FAILED: 'TEMPLATE_RENDER_FAILED',
  /** The metric's definition cannot score: a regex that does not compile, a wrong output type… */
  METRIC_CONFIG_INVALID: 'METRIC_CONFIG_INVALID',
  /** Recording failed on every delivery (database down for longer than the backoff). */
  MAX_DELIVERIES_EXCEEDED: 'MAX_DELIVERIES_EXCEEDED',
  /** The RecordAdded payload does not match its schema. */
  EVENT_PAYLOAD_INVALID: 'EVENT_PAYLOAD_INVALID',
  /** A heuristic threw something other than a config error: a bug. */
  INTERNAL: 'INTERNAL',
  // CODE heuristics, per record (see ../code/code-sandbox.ts):
  /** The code ran past the sandbox's time limit. */
  CODE_TIMEOUT: 'CODE_TIMEOUT',
  /** The code allocated past the sandbox's memory limit. */
  CODE_MEMORY_LIMIT: 'CODE_MEMORY_LIMIT',
  /** The code threw (the reason carries its message and line) or overflowed the stack. */
  CODE_ERROR: 'CODE_ERROR',
  /** score() did not return {score, reasoning} of the metric's output type. */
  CODE_RESULT_INVALID: 'CODE_RESULT_INVALID',
} as const;

/** Structured JSON-lines logging, fields first (a pino logger satisfies it). */
export interface ScoringLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ScoringHandlerDeps {
  /**
   * The metrics the run scores with now: pinned when it was created, re-pinned (with a round) by
   * rescoreRun. Cached per run; `rescoreVersions` says when to load them again.
   */
  metricsOfRun(runId: string): Promise<readonly RunMetric[]>;
  /**
   * Per run, the version of its re-score stream (0: never re-scored), read once per batch: a cached
   * run whose version moved is loaded again. Without it runs are cached for good (no re-scoring).
   */
  rescoreVersions?(runIds: readonly string[]): Promise<ReadonlyMap<string, number>>;
  /** Scores AI metrics (LLM judge). Without it they fail with METRIC_UNSUPPORTED. */
  readonly judge?: JudgeService;
  /** Stores a batch of outcomes in one transaction, idempotent per (record, metric, version). */
  recordOutcomes(outcomes: ScoringOutcome[]): Promise<void>;
  readonly logger: ScoringLogger;
  /** Runs whose metrics stay cached (least recently used go first). Default 1,000. */
  readonly metricsCacheSize?: number;
  /** Totals are logged at info at most this often. Default 60 s. */
  readonly totalsIntervalMs?: number;
  /** While a batch is being scored, `working()` is sent this often to hold the ack deadline. Default 5 s. */
  readonly workingIntervalMs?: number;
  /** Runs CODE heuristics. Default: the process's shared sandbox (sharedCodeSandbox), started when a run first needs it. */
  readonly codeSandbox?: CodeSandbox;
  /** Clock, for tests. */
  readonly now?: () => number;
}
