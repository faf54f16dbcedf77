import type { ConsumerOptions } from '@assay/bus';
import { AssayError, CONSUMED_EVENT_TYPES } from '@assay/contracts';
import { delaysSetting, positiveIntSetting } from '@assay/runtime';

/** The scoring consumer's durable name: every scoring process shares the work under it. */
export const SCORING_CONSUMER_NAME = 'scoring';

/** ConsumerOptions plus the JetStream-only cap across processes (ignored by the in-process bus). */
export type ScoringConsumerOptions = ConsumerOptions & { readonly maxAckPending?: number };

export const SCORING_DEFAULTS = {
  maxInFlight: 256,
  maxBatch: 200,
  ackWaitMs: 30_000,
  maxDeliver: 5,
  backoffMs: [1_000, 5_000, 15_000, 30_000],
} as const;

/**
 * The consumer's options from the environment, each with a default:
 * - SCORING_MAX_IN_FLIGHT (256): deliveries one process holds un-acked.
 * - SCORING_MAX_BATCH (200): deliveries per handler call, so per `recordOutcomes` transaction.
 * - SCORING_ACK_WAIT_MS (30000): redelivery when a batch neither settles nor reports progress.
 * - SCORING_MAX_DELIVER (5): attempts before MAX_DELIVERIES_EXCEEDED is recorded.
 * - SCORING_BACKOFF_MS ("1000,5000,15000,30000"): delay before each redelivery, the last repeating.
 * - SCORING_MAX_ACK_PENDING (JetStream only; default: 8 × SCORING_MAX_IN_FLIGHT): the server's cap over
 *   every process sharing the durable. Each process bounds itself by SCORING_MAX_IN_FLIGHT, so the
 *   default leaves room for 8 processes; with more, set N × SCORING_MAX_IN_FLIGHT, or added
 *   processes would sit idle.
 * A value that is not a positive whole number (a non-negative one for backoff) is refused at start.
 */
/** Scoring processes the default SCORING_MAX_ACK_PENDING leaves room for. */
const SCALE_OUT_ROOM = 8;

export function scoringConsumerOptions(env: NodeJS.ProcessEnv = process.env): ScoringConsumerOptions {
  const maxInFlight = positiveIntSetting(env, 'SCORING_MAX_IN_FLIGHT', SCORING_DEFAULTS.maxInFlight);
  const maxBatch = positiveIntSetting(env, 'SCORING_MAX_BATCH', SCORING_DEFAULTS.maxBatch);
  if (maxBatch > maxInFlight) {
    throw new AssayError('BAD_USER_INPUT', `SCORING_MAX_BATCH (${maxBatch}) exceeds SCORING_MAX_IN_FLIGHT (${maxInFlight}): a batch could never fill. Lower it or raise SCORING_MAX_IN_FLIGHT.`);
  }
  const maxAckPending = positiveIntSetting(env, 'SCORING_MAX_ACK_PENDING', maxInFlight * SCALE_OUT_ROOM);
  return {
    name: SCORING_CONSUMER_NAME,
    eventTypes: CONSUMED_EVENT_TYPES.scoring,
    maxInFlight,
    maxBatch,
    ackWaitMs: positiveIntSetting(env, 'SCORING_ACK_WAIT_MS', SCORING_DEFAULTS.ackWaitMs),
    maxDeliver: positiveIntSetting(env, 'SCORING_MAX_DELIVER', SCORING_DEFAULTS.maxDeliver),
    backoffMs: delaysSetting(env, 'SCORING_BACKOFF_MS', SCORING_DEFAULTS.backoffMs),
    maxAckPending,
  };
}

/**
 * Issue 4: the durable that carries rescoreRun's RecordRescoreRequested to the same handler, with
 * the scoring consumer's limits ("scoring-rescore" beside "scoring").
 */
export function rescoreConsumerOptions(scoring: ScoringConsumerOptions): ScoringConsumerOptions {
  return { ...scoring, name: `${scoring.name}-rescore`, eventTypes: CONSUMED_EVENT_TYPES.rescoring };
}
