import type { ExecutionFailureView, ExecutionInfo, RunView } from '@assay/runs';

/**
 * Runs the server executes (issue 4): kickoffRun, runAgain, and the playground, which executes a
 * few testcases and scores them without making a run.
 */

/** An inline testcase (playground, or kickoffRun with the playground's inputs). */
export interface InlineTestcase {
  /** What the system's message templates see as `inputs`. */
  readonly inputs: Record<string, unknown>;
  /** What metrics compare the output with (optional). */
  readonly expected?: unknown;
}

/**
 * What to execute. The system: `systemVersionId` (a prompt system version of the project) or an
 * inline `config` (a prompt system config, as createSystemVersion takes it). The testcases: a
 * whole testset (`testsetId`), some of its testcases (`testsetId` and `testcaseIds`), or inline
 * `testcases`.
 */
export interface ExecutionTarget {
  readonly projectId: string;
  readonly systemVersionId?: string | null;
  readonly config?: unknown;
  readonly testsetId?: string | null;
  readonly testcaseIds?: readonly string[] | null;
  readonly testcases?: readonly unknown[] | null;
}

export interface KickoffRunInput extends ExecutionTarget {
  readonly metricIds: readonly string[];
  /** How many times each testcase runs (default 1, at most MAX_TRIALS). */
  readonly trials?: number | null;
  /** The same key in the same project returns the same run: no second run, no second execution. */
  readonly idempotencyKey?: string | null;
  readonly notes?: string | null;
}

export interface PlaygroundInput extends ExecutionTarget {
  /** Scored in the process: heuristic and CODE metrics; AI metrics through the judge when the process has one. */
  readonly metricIds?: readonly string[] | null;
}

export interface PlaygroundScore {
  readonly metricId: string;
  readonly metricVersion: number;
  readonly value: number | null;
  readonly passed: boolean | null;
  readonly reasoning: string | null;
  readonly error: { readonly code: string; readonly reason: string } | null;
}

export interface PlaygroundItem {
  /** 0-based position among the session's testcases. */
  readonly index: number;
  readonly testcaseId: string | null;
  readonly inputs: unknown;
  readonly expected: unknown;
  /** `{output: <the model's answer>}`, as a run's record holds it; null when the call failed. */
  readonly outputs: unknown;
  readonly execution: ExecutionInfo | null;
  /** Why there is no output. */
  readonly error: { readonly code: string; readonly reason: string } | null;
  readonly scores: readonly PlaygroundScore[];
}

export type PlaygroundUpdateKind = 'STARTED' | 'OUTPUT' | 'SCORES' | 'DONE';

/**
 * One push of a playground session: STARTED (once, at once), then per testcase OUTPUT (the model
 * answered, or failed) and SCORES (its metrics' outcomes), then DONE (every item, with scores).
 */
export interface PlaygroundUpdate {
  readonly sessionId: string;
  readonly kind: PlaygroundUpdateKind;
  readonly numItems: number;
  /** Items with their scores so far. */
  readonly numDone: number;
  /** OUTPUT and SCORES: the item concerned. */
  readonly item: PlaygroundItem | null;
  /** DONE: every item, in input order. */
  readonly items: readonly PlaygroundItem[] | null;
}

export interface ExecutionApi {
  kickoffRun(input: KickoffRunInput): Promise<RunView>;
  /**
   * A new run with the same testset, system version (or inline config and testcases), metrics and
   * trials, and the same source. Metrics are pinned at their current versions.
   */
  runAgain(runId: string): Promise<RunView>;
  /** Checks the input (refusing objects of another project as missing), then streams the session's updates; returning from the iterator cancels its model calls. */
  playground(input: PlaygroundInput): Promise<AsyncIterableIterator<PlaygroundUpdate>>;
  /** Executions of the run that failed for good, with their reasons (at most `limit`). */
  executionFailures(runId: string, limit?: number): Promise<ExecutionFailureView[]>;
}
