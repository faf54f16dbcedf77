import { isAssayError, JudgeUsage, MetricSnapshot } from '@assay/contracts';
import {
  fold,
  RecordScoringCommand,
  RecordScoringEvent,
  recordScoringDecider,
  RecordScoringState,
  recordStreamId,
} from '@assay/domain';
import { AppendRequest, PostgresEventStore, VersionConflictError } from '@assay/event-store';
import { asDomainEvents, toNewEvents } from './decide-and-append';

/** What a scoring worker concluded for one (record, metric). */
export type ScoringOutcome =
  | { kind: 'score'; runId: string; recordId: string; metric: MetricSnapshot; value: number; reasoning: string; round?: number; judge?: JudgeUsage }
  | { kind: 'failure'; runId: string; recordId: string; metric: MetricSnapshot; code: string; reason: string; attempts: number; round?: number; judge?: JudgeUsage };

const MAX_ATTEMPTS = 5;

/**
 * Records a batch of outcomes in one transaction. Each record has its own stream, so workers on
 * the same run never contend; a redelivered outcome decides to nothing (the first one stands).
 * A conflict means another worker recorded some of these records meanwhile: re-read and decide again.
 */
export async function recordOutcomes(store: PostgresEventStore, outcomes: readonly ScoringOutcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  const byRecord = new Map<string, ScoringOutcome[]>();
  for (const outcome of outcomes) {
    const list = byRecord.get(outcome.recordId) ?? [];
    list.push(outcome);
    byRecord.set(outcome.recordId, list);
  }
  for (let attempt = 1; ; attempt++) {
    const streams = await store.readStreams([...byRecord.keys()].map(recordStreamId));
    const requests: AppendRequest[] = [];
    for (const [recordId, recordOutcomes] of byRecord) {
      const stored = streams.get(recordStreamId(recordId)) ?? [];
      let state = fold(recordScoringDecider, asDomainEvents<RecordScoringEvent>(stored));
      const events: RecordScoringEvent[] = [];
      for (const outcome of recordOutcomes) {
        const decided = decideOutcome(outcome, state);
        state = fold(recordScoringDecider, decided, state);
        events.push(...decided);
      }
      if (events.length) {
        requests.push({ streamId: recordStreamId(recordId), expectedVersion: stored.at(-1)?.streamPosition ?? 0, events: toNewEvents(events) });
      }
    }
    if (requests.length === 0) return 0;
    try {
      const result = await store.append(requests);
      return result.events.length;
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** A score the metric's output type cannot hold is recorded as a failure, not lost with its batch. */
function decideOutcome(outcome: ScoringOutcome, state: RecordScoringState): RecordScoringEvent[] {
  try {
    return [...recordScoringDecider.decide(toCommand(outcome), state)];
  } catch (error) {
    if (!isAssayError(error) || outcome.kind !== 'score') throw error;
    const failure: ScoringOutcome = { ...outcome, kind: 'failure', code: 'SCORE_INVALID', reason: error.message, attempts: 1 };
    return [...recordScoringDecider.decide(toCommand(failure), state)];
  }
}

function toCommand(outcome: ScoringOutcome): RecordScoringCommand {
  const { runId, recordId, metric } = outcome;
  // Issue 4: the re-score round and the judge calls behind the outcome travel with it.
  const extra = { ...(outcome.round ? { round: outcome.round } : {}), ...(outcome.judge ? { judge: outcome.judge } : {}) };
  return outcome.kind === 'score'
    ? { type: 'RecordScore', runId, recordId, metric, value: outcome.value, reasoning: outcome.reasoning, ...extra }
    : { type: 'RecordScoringFailure', runId, recordId, metric, code: outcome.code, reason: outcome.reason, attempts: outcome.attempts, ...extra };
}
