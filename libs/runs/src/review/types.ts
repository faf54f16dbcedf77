import type { ScoreSource } from '@assay/contracts';
import type { Page, PageRequest, RecordView } from '../types';

/** submitScore's input (issue 4): a person's score of a record for a HUMAN metric its run pinned. */
export interface SubmitScoreInput {
  readonly recordId: string;
  readonly metricId: string;
  /** BOOLEAN: 1 (true, passes) or 0 (false); INT: 1 to 5; FLOAT: 0 to 1. */
  readonly value: number;
  readonly reasoning?: string | null;
}

export interface SubmitScoreOptions {
  /** Who scores: the id of the API key that submitted the score (kept in the event). */
  readonly scoredBy: string;
  /**
   * Called with the record's project before anything changes (null when there is no such record):
   * throw to refuse. The gateway refuses a foreign record exactly as a missing one.
   */
  readonly authorize?: (projectId: string | null) => void;
}

/** A record's score for one metric version, as it now stands. */
export interface HumanScoreView {
  readonly recordId: string;
  readonly runId: string;
  readonly metricId: string;
  readonly metricVersion: number;
  readonly value: number | null;
  readonly passed: boolean | null;
  readonly reasoning: string | null;
  readonly error: { code: string; reason: string } | null;
  readonly source: ScoreSource;
  /** The API key id of who gave (or last corrected) a human score; null for automatic ones. */
  readonly scoredBy: string | null;
}

/** The records of a project still waiting for a person's score for one HUMAN metric, oldest first. */
export interface ReviewQueuePage extends Page<RecordView> {
  /** How many records wait for this metric in the whole project. */
  readonly totalCount: number;
}

export interface ReviewApi {
  /** The first score of a (record, metric) records it; any later one corrects it. Resolves once queries show it. */
  submitScore(input: SubmitScoreInput, options: SubmitScoreOptions): Promise<HumanScoreView>;
  /**
   * Records of the project whose run pinned the metric and that have no human score for it yet,
   * oldest first (keyset-paged: first 0 to 1000, default 50). Answers nothing for a metric of
   * another project; the caller checks the project and the metric.
   */
  reviewQueue(projectId: string, metricId: string, page: PageRequest): Promise<ReviewQueuePage>;
}
