import { AssayError, decodeSeqCursor, encodeCursor, MetricSnapshot, pageSize } from '@assay/contracts';
import type { Sql } from '@assay/database';
import { fold, RecordScoringEvent, recordScoringDecider, recordStreamId, SubmitHumanScore } from '@assay/domain';
import { PostgresEventStore, VersionConflictError } from '@assay/event-store';
import { asDomainEvents, toNewEvents } from '../commands/decide-and-append';
import { READ_MODELS_PROCESSOR } from '../read-models/run-projections';
import { RunQueries } from '../read-models/run-queries';
import { scoreCore, ScoreCoreRow } from '../read-models/run-rows';
import type { PageRequest, RecordView } from '../types';
import type { HumanScoreView, ReviewApi, ReviewQueuePage, SubmitScoreInput, SubmitScoreOptions } from './types';

const CONFLICT_RETRIES = 10;

export interface HumanReviewOptions {
  /** How long submitScore waits for its score to show in the read models. */
  readonly projectionTimeoutMs?: number;
}

interface ScoreRow extends ScoreCoreRow {
  record_id: string;
  run_id: string;
  stream_position: number | null;
}

/**
 * Human review (issue 4): people score records for HUMAN metrics, and find the records still
 * waiting for them. Scores go on the record's stream through the record-scoring decider, like the
 * workers' outcomes: one outcome per (record, metric version), and a person's later submissions
 * correct it (HumanScoreCorrected).
 */
export class HumanReview implements ReviewApi {
  private readonly queries: RunQueries;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly sql: Sql,
    private readonly options: HumanReviewOptions = {},
  ) {
    this.queries = new RunQueries(sql);
  }

  async submitScore(input: SubmitScoreInput, options: SubmitScoreOptions): Promise<HumanScoreView> {
    const found = await this.findRecord(input.recordId);
    options.authorize?.(found?.project_id ?? null);
    if (!found) {
      throw new AssayError('RECORD_NOT_FOUND', `Record "${input.recordId}" does not exist: check the record id (addRecords and Run.records return it).`, {
        recordId: input.recordId,
      });
    }
    const metric = found.metrics.find((m) => m.metricId === input.metricId);
    if (!metric) {
      // The same answer whether the metric exists elsewhere or not at all.
      throw new AssayError(
        'METRIC_NOT_FOUND',
        `Metric "${input.metricId}" is not a metric of run "${found.run_id}", which record "${input.recordId}" belongs to: pass one of the run's metrics (Run.metrics).`,
        { metricId: input.metricId },
      );
    }
    const version = await this.decideAndAppend({
      type: 'SubmitHumanScore',
      runId: found.run_id,
      recordId: input.recordId,
      metric,
      value: input.value,
      reasoning: input.reasoning ?? '',
      scoredBy: options.scoredBy,
    });
    return this.waitForScore(input.recordId, metric, version);
  }

  /**
   * The record's run and what it pinned: immutable once the record exists, so the read model
   * answers as well as the run's stream would (without folding a stream of every record). A record
   * added a moment ago may not be projected yet: on a miss, wait until the projector has applied
   * every event committed before this call, then look again.
   */
  private async findRecord(recordId: string): Promise<{ run_id: string; project_id: string; metrics: MetricSnapshot[] } | null> {
    const lookUp = async () =>
      (
        await this.sql.query<{ run_id: string; project_id: string; metrics: MetricSnapshot[] }>(
          `select r.run_id, u.project_id, u.metrics from rm_records r join rm_runs u on u.id = r.run_id where r.id = $1`,
          [recordId],
        )
      )[0] ?? null;
    const found = await lookUp();
    if (found) return found;
    const [head] = await this.sql.query<{ transaction_id: string; global_position: string }>(
      `select transaction_id::text as transaction_id, global_position from assay_events order by transaction_id desc, global_position desc limit 1`,
    );
    if (!head) return null;
    const deadline = Date.now() + Math.min(this.options.projectionTimeoutMs ?? 10_000, 5_000);
    for (let delay = 2; Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
      const [checkpoint] = await this.sql.query<{ caught_up: boolean }>(
        `select (transaction_id, global_position) >= ($2::xid8, $3::bigint) as caught_up from assay_checkpoints where name = $1`,
        [READ_MODELS_PROCESSOR, head.transaction_id, head.global_position],
      );
      if (checkpoint?.caught_up) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    return lookUp();
  }

  async reviewQueue(projectId: string, metricId: string, page: PageRequest): Promise<ReviewQueuePage> {
    const limit = pageSize(page.first);
    const afterSeq = page.after ? decodeSeqCursor(page.after) : 0;
    const [rows, [{ total }]] = await Promise.all([
      this.sql.query<{ seq: string | number; id: string; run_id: string; testcase_id: string | null; inputs: unknown; outputs: unknown; expected: unknown; created_at: Date }>(
        `select q.seq, r.id, r.run_id, r.testcase_id, r.inputs, r.outputs, r.expected, r.created_at
         from rm_review_queue q join rm_records r on r.id = q.record_id
         where q.project_id = $1 and q.metric_id = $2 and q.seq > $3
         order by q.seq limit $4`,
        [projectId, metricId, afterSeq, limit + 1],
      ),
      this.sql.query<{ total: number }>('select count(*)::int as total from rm_review_queue where project_id = $1 and metric_id = $2', [projectId, metricId]),
    ]);
    const pageRows = rows.slice(0, limit);
    const scores = await this.queries.scoresOf(pageRows.map((r) => r.id));
    const items = pageRows.map((row) => ({
      cursor: encodeCursor([Number(row.seq)]),
      node: {
        id: row.id,
        runId: row.run_id,
        testcaseId: row.testcase_id,
        inputs: row.inputs,
        outputs: row.outputs,
        expected: row.expected,
        createdAt: new Date(row.created_at),
        scores: scores.get(row.id) ?? [],
      } satisfies RecordView,
    }));
    return { items, hasNextPage: rows.length > limit, endCursor: items.at(-1)?.cursor ?? null, totalCount: total };
  }

  /**
   * Decides on the record's stream and appends with the version read. Returns the stream position
   * of the event that now holds this human score (the new one, or for the same score again the
   * one already there).
   */
  private async decideAndAppend(command: SubmitHumanScore): Promise<number> {
    const streamId = recordStreamId(command.recordId);
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.readStream(streamId);
      const current = stored.at(-1)?.streamPosition ?? 0;
      const events = recordScoringDecider.decide(command, fold(recordScoringDecider, asDomainEvents<RecordScoringEvent>(stored)));
      if (events.length === 0) {
        const holding = [...stored]
          .reverse()
          .find(
            (e) =>
              (e.type === 'HumanScoreCorrected' || (e.type === 'ScoreRecorded' && (e.data as { source?: string }).source === 'HUMAN')) &&
              (e.data as { metricId: string }).metricId === command.metric.metricId,
          );
        return holding?.streamPosition ?? current;
      }
      try {
        const result = await this.store.append([{ streamId, expectedVersion: current, events: toNewEvents(events) }]);
        return result.streamVersions.get(streamId)!;
      } catch (error) {
        // A worker or another person wrote to this record meanwhile: read again and decide again.
        if (!(error instanceof VersionConflictError) || attempt >= CONFLICT_RETRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  /** Read-your-writes: wait until the projector has applied the record's stream up to `version` for this score. */
  private async waitForScore(recordId: string, metric: MetricSnapshot, version: number): Promise<HumanScoreView> {
    const deadline = Date.now() + (this.options.projectionTimeoutMs ?? 10_000);
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const [row] = await this.sql.query<ScoreRow>(
        `select record_id, run_id, metric_id, metric_version, value, passed, reasoning, error_code, error_reason, source, scored_by, stream_position
         from rm_scores where record_id = $1 and metric_id = $2 and metric_version = $3`,
        [recordId, metric.metricId, metric.version],
      );
      if (row && row.source === 'HUMAN' && (row.stream_position ?? 0) >= version) return toHumanScoreView(row);
      if (Date.now() > deadline) {
        throw new AssayError(
          'UNAVAILABLE',
          `The score of record ${recordId} was saved but is not visible yet: the runs service may be down or behind. Query the record again shortly.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function toHumanScoreView(row: ScoreRow): HumanScoreView {
  return { recordId: row.record_id, runId: row.run_id, ...scoreCore(row) };
}
