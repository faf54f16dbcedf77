import { AssayError } from '@assay/contracts';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '../util/nanos';
import type { BusLogger } from '../util/logger';

export interface StreamSettings {
  readonly name: string;
  /** `${prefix}.events.>` */
  readonly subjects: readonly string[];
  /** How long JetStream keeps an event. Default 7 days. */
  readonly maxAgeMs?: number;
  /** Byte cap of the stream, -1 for none. Default -1. */
  readonly maxBytes?: number;
  /** Default 2 minutes. */
  readonly duplicateWindowMs?: number;
  /** Default 1 (single server); 3 on a JetStream cluster. */
  readonly replicas?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The stream's configuration, every option explicit. JetStream is transport, not the record
 * (PostgreSQL is): the limits below bound what JetStream keeps, and anything it drops can be
 * re-published from the log.
 */
export function streamConfig(settings: StreamSettings): Partial<StreamConfig> & { name: string } {
  const maxAgeMs = settings.maxAgeMs ?? 7 * DAY_MS;
  const duplicateWindowMs = settings.duplicateWindowMs ?? 2 * 60 * 1000;
  return {
    name: settings.name,
    subjects: [...settings.subjects],
    // Limits, not work-queue or interest: several consumer kinds (scoring, projections, exports) read
    // the same events independently, and a work-queue stream forbids overlapping consumers.
    retention: RetentionPolicy.Limits,
    // File: events survive a nats-server restart. Memory would silently lose everything not yet consumed.
    storage: StorageType.File,
    // Old: at a limit, drop the oldest events rather than refuse new publishes, which would stall the
    // relay and with it every consumer. A consumer that lags past max_age catches up from PostgreSQL.
    discard: DiscardPolicy.Old,
    // Time limit: the longest a consumer may be down and still catch up from JetStream alone.
    max_age: nanos(maxAgeMs),
    // No count or size limits by default: max_age is the one retention rule (a size cap is opt-in).
    max_msgs: -1,
    max_bytes: settings.maxBytes ?? -1,
    max_msgs_per_subject: -1,
    // Bodies are bounded by the server's max_payload (1 MB default) and by Assay's own payload limits.
    max_msg_size: -1,
    max_consumers: -1,
    // Deduplication by Nats-Msg-Id (= eventId) within this window: a relay that restarts and re-publishes
    // its last uncheckpointed batch does not double-deliver. Beyond it, consumers' idempotency is the guard.
    duplicate_window: nanos(Math.min(duplicateWindowMs, maxAgeMs)),
    num_replicas: settings.replicas ?? 1,
    // Events are immutable and only ever added: no rollups, and the stream is not a key-value store.
    allow_rollup_hdrs: false,
    // Operators may delete or purge (e.g. to re-drive a consumer from PostgreSQL); nothing here relies on it.
    deny_delete: false,
    deny_purge: false,
    // Direct get is for key-value reads; consumers here go through durable consumers only.
    allow_direct: false,
    sealed: false,
  };
}

/** Fields whose difference from the wanted config makes `ensureStream` update the stream. */
const MANAGED: ReadonlyArray<keyof StreamConfig> = [
  'subjects', 'retention', 'storage', 'discard', 'max_age', 'max_msgs', 'max_bytes', 'max_msgs_per_subject',
  'max_msg_size', 'max_consumers', 'duplicate_window', 'num_replicas', 'allow_rollup_hdrs', 'deny_delete',
  'deny_purge', 'allow_direct',
];

/**
 * Creates the stream, or updates it when its managed options differ. Idempotent and safe when several
 * processes start at once (the loser of a create race falls through to the comparison).
 */
export async function ensureStream(jsm: JetStreamManager, settings: StreamSettings, logger: BusLogger): Promise<StreamInfo> {
  const wanted = streamConfig(settings);
  let info = await findStream(jsm, wanted.name);
  if (!info) {
    try {
      info = await jsm.streams.add(wanted);
      logger.info({ stream: wanted.name, subjects: wanted.subjects }, 'created JetStream stream');
      return info;
    } catch (error) {
      info = await findStream(jsm, wanted.name);
      if (!info) throw streamError(wanted.name, 'create', error);
    }
  }
  const differing = MANAGED.filter((key) => JSON.stringify(info!.config[key]) !== JSON.stringify(wanted[key]));
  if (differing.length === 0) return info;
  try {
    const updated = await jsm.streams.update(wanted.name, { ...info.config, ...wanted });
    logger.info({ stream: wanted.name, changed: differing }, 'updated JetStream stream configuration');
    return updated;
  } catch (error) {
    throw streamError(wanted.name, `update (${differing.join(', ')})`, error);
  }
}

async function findStream(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw streamError(name, 'look up', error);
  }
}

function streamError(name: string, action: string, error: unknown): AssayError {
  const message = error instanceof Error ? error.message : String(error);
  return new AssayError(
    'UNAVAILABLE',
    `Could not ${action} the JetStream stream "${name}": ${message}. Check that nats-server runs with JetStream enabled (-js) and that options such as storage were not changed on an existing stream.`,
    { stream: name },
  );
}
