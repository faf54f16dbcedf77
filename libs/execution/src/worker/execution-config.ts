import type { ConsumerOptions } from '@assay/bus';
import { AssayError, CONSUMED_EVENT_TYPES } from '@assay/contracts';
import { delaysSetting, positiveIntSetting } from '@assay/runtime';

/** The execution consumer's durable name: every worker process shares the work under it. */
export const EXECUTION_CONSUMER_NAME = 'execution';

/** ConsumerOptions plus the JetStream-only cap across processes, and this process's model calls in flight. */
export type ExecutionConsumerOptions = ConsumerOptions & { readonly maxAckPending?: number; readonly concurrency: number };

export const EXECUTION_DEFAULTS = {
  maxInFlight: 16,
  maxBatch: 4,
  ackWaitMs: 60_000,
  maxDeliver: 5,
  backoffMs: [5_000, 15_000, 30_000, 60_000],
  concurrency: 256,
} as const;

/** Execution processes the default EXECUTION_MAX_ACK_PENDING leaves room for. */
const SCALE_OUT_ROOM = 8;

/**
 * The execution consumer's options from the environment, each with a default:
 * - EXECUTION_MAX_IN_FLIGHT (16): ExecutionsScheduled batches (of up to 32 executions each) one process holds.
 * - EXECUTION_MAX_BATCH (4): batches per handler call.
 * - EXECUTION_ACK_WAIT_MS (60000): redelivery when a batch neither settles nor reports progress
 *   (a batch in progress reports every 10 s, however long its model calls wait).
 * - EXECUTION_MAX_DELIVER (5): deliveries of a batch before an execution still failing (provider
 *   down, timing out, rate limiting) is recorded as ExecutionFailed.
 * - EXECUTION_BACKOFF_MS ("5000,15000,30000,60000"): delay before each redelivery, the last repeating.
 * - EXECUTION_MAX_ACK_PENDING (JetStream only; default 8 × EXECUTION_MAX_IN_FLIGHT).
 * - EXECUTION_CONCURRENCY (256): model calls this process starts at once (they then wait for the
 *   provider's governor, whose ASSAY_LLM_MAX_CONCURRENCY holds across every process).
 */
export function executionConsumerOptions(env: NodeJS.ProcessEnv = process.env): ExecutionConsumerOptions {
  const maxInFlight = positiveIntSetting(env, 'EXECUTION_MAX_IN_FLIGHT', EXECUTION_DEFAULTS.maxInFlight);
  const maxBatch = positiveIntSetting(env, 'EXECUTION_MAX_BATCH', EXECUTION_DEFAULTS.maxBatch);
  if (maxBatch > maxInFlight) {
    throw new AssayError('BAD_USER_INPUT', `EXECUTION_MAX_BATCH (${maxBatch}) exceeds EXECUTION_MAX_IN_FLIGHT (${maxInFlight}): a batch could never fill. Lower it or raise EXECUTION_MAX_IN_FLIGHT.`);
  }
  return {
    name: EXECUTION_CONSUMER_NAME,
    eventTypes: CONSUMED_EVENT_TYPES.execution,
    maxInFlight,
    maxBatch,
    ackWaitMs: positiveIntSetting(env, 'EXECUTION_ACK_WAIT_MS', EXECUTION_DEFAULTS.ackWaitMs),
    maxDeliver: positiveIntSetting(env, 'EXECUTION_MAX_DELIVER', EXECUTION_DEFAULTS.maxDeliver),
    backoffMs: delaysSetting(env, 'EXECUTION_BACKOFF_MS', EXECUTION_DEFAULTS.backoffMs),
    maxAckPending: positiveIntSetting(env, 'EXECUTION_MAX_ACK_PENDING', maxInFlight * SCALE_OUT_ROOM),
    concurrency: positiveIntSetting(env, 'EXECUTION_CONCURRENCY', EXECUTION_DEFAULTS.concurrency),
  };
}
