import type { MetricSnapshot } from '@assay/contracts';
import type { CodeSandbox } from '../code/code-sandbox';

/**
 * What the worker concluded for one (record, metric). Same shape as `ScoringOutcome` in @assay/runs,
 * whose `recordOutcomes` stores a batch of them in one transaction, idempotently per
 * (record, metric, version): the first outcome stands.
 */
export type ScoringOutcome =
  | { kind: 'score'; runId: string; recordId: string; metric: MetricSnapshot; value: number; reasoning: string }
  | { kind: 'failure'; runId: string; recordId: string; metric: MetricSnapshot; code: string; reason: string; attempts: number };

/** Stable codes of the failures the worker records (ScoringFailed.code). */
export const ScoringFailureCode = {
  /** The metric's evalType is not scored by this worker (yet). */
  METRIC_UNSUPPORTED: 'METRIC_UNSUPPORTED',
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
  /** The metrics the run pinned when it was created. Runs never change them, so the handler caches them. */
  metricsOfRun(runId: string): Promise<readonly MetricSnapshot[]>;
  /** Stores a batch of outcomes in one transaction, idempotent per (record, metric, version). */
  recordOutcomes(outcomes: ScoringOutcome[]): Promise<void>;
  /** The consumer's max deliver: on this attempt a failure is recorded instead of retried. */
  readonly maxDeliver: number;
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
