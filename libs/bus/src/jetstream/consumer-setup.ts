import { AssayError } from '@assay/contracts';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  ReplayPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '../util/nanos';
import type { ConsumerOptions } from '../types';
import type { ServerFeatures } from './server-features';
import type { Subjects } from './subjects';

/** JetStream-only knobs on top of the shared ConsumerOptions. */
export interface JetStreamConsumerOptions extends ConsumerOptions {
  /**
   * Server-side cap on un-acked deliveries across every process sharing this durable (max_ack_pending).
   * Default: maxInFlight — one process's concurrency. With N processes sharing the name, set
   * N × maxInFlight or they split maxInFlight between them. Deliveries nak'ed with a delay count
   * against it until they are redelivered.
   */
  readonly maxAckPending?: number;
}

export interface ConsumerPlan {
  readonly config: Partial<ConsumerConfig> & { durable_name: string };
  /** Set when the server cannot filter on several subjects: the client acks the other types itself. */
  readonly clientSideFilter: ReadonlySet<string> | undefined;
}

/** Pending pull requests the server keeps per consumer (its default); each process holds at most two. */
const MAX_WAITING_PULLS = 512;

/** The durable pull consumer for `options`, every option explicit. */
export function consumerPlan(options: JetStreamConsumerOptions, subjects: Subjects, features: ServerFeatures): ConsumerPlan {
  const types = [...new Set(options.eventTypes)].sort();
  const filter = filterFor(types, subjects, features);
  const config: Partial<ConsumerConfig> & { durable_name: string } = {
    // Durable: survives restarts and is shared by every process consuming under this name.
    durable_name: options.name,
    // Explicit: every delivery is acked, nak'ed or termed on its own (a batch may partly fail).
    ack_policy: AckPolicy.Explicit,
    // A consumer created for the first time reads everything the stream still holds.
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    // Redeliver what was neither settled nor extended by working() within this time.
    ack_wait: nanos(options.ackWaitMs),
    // Counts every delivery, nak'ed or timed out; after it the server stops redelivering.
    max_deliver: options.maxDeliver,
    // No server `backoff`: JetStream applies it to ack timeouts only, and setting it replaces ack_wait
    // with backoff[0] (a 1 s first backoff would redeliver every job still running after 1 s). The
    // backoff is applied instead as the delay of nak(), where a failure is known.
    backoff: undefined,
    // The default 1000 silently stops delivery when reached: set it to the real concurrency.
    max_ack_pending: options.maxAckPending ?? options.maxInFlight,
    max_waiting: MAX_WAITING_PULLS,
    // Full messages: the body is the event.
    headers_only: false,
    // Never removed for inactivity: a durable outlives deployments.
    inactive_threshold: 0,
    // Inherit the stream's replication.
    num_replicas: 0,
    ...filter.config,
  };
  return { config, clientSideFilter: filter.clientSide };
}

// Both filter keys are always present (one undefined) so an update from one form to the other clears the old.
function filterFor(types: string[], subjects: Subjects, features: ServerFeatures) {
  if (types.length === 1) {
    return { config: { filter_subject: subjects.event(types[0]), filter_subjects: undefined }, clientSide: undefined };
  }
  if (features.multipleFilterSubjects) {
    return { config: { filter_subject: undefined, filter_subjects: types.map((t) => subjects.event(t)) }, clientSide: undefined };
  }
  // nats-server < 2.10 has one filter per consumer: take every event and ack the others client-side.
  return { config: { filter_subject: subjects.allEvents, filter_subjects: undefined }, clientSide: new Set(types) };
}

/**
 * Creates the consumer or brings it to `plan`: the same call from several processes is harmless, and
 * the last process to start wins on options that differ between them. A create with the same config
 * returns the existing consumer; with a different one, servers >= 2.10 refuse it (2.9 updates in
 * place), so the update path follows.
 */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, plan: ConsumerPlan): Promise<ConsumerInfo> {
  try {
    return await jsm.consumers.add(stream, plan.config);
  } catch (createError) {
    if (!(createError instanceof JetStreamApiError)) throw consumerError(stream, plan, createError);
    try {
      const { durable_name: _name, deliver_policy: _policy, ack_policy: _ack, replay_policy: _replay, ...updatable } = plan.config;
      return await jsm.consumers.update(stream, plan.config.durable_name, updatable);
    } catch (updateError) {
      throw consumerError(stream, plan, updateError);
    }
  }
}

function consumerError(stream: string, plan: ConsumerPlan, error: unknown): AssayError {
  const message = error instanceof Error ? error.message : String(error);
  return new AssayError(
    'UNAVAILABLE',
    `Could not create or update the JetStream consumer "${plan.config.durable_name}" on stream "${stream}": ${message}. An option that cannot change on an existing consumer (its deliver policy, on some servers its filter) needs the consumer deleted first.`,
    { consumer: plan.config.durable_name, stream },
  );
}
