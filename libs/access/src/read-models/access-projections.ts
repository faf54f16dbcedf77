import type { EventData } from '@assay/contracts';
import type { Database, Sql } from '@assay/database';
import { LogProcessor, PostgresEventStore, StoredEvent, startLogProcessor } from '@assay/event-store';

/** Checkpoint name of the access projector; resetting it rebuilds rm_api_keys. */
export const ACCESS_READ_MODELS_PROCESSOR = 'access-read-models';
const TYPES = ['ApiKeyCreated', 'ApiKeyRevoked'];

/** Folds a batch of key events into rm_api_keys, in the processor's transaction (exactly once). */
export async function projectApiKeys(events: readonly StoredEvent[], tx: Sql): Promise<void> {
  const created: object[] = [];
  const revoked: object[] = [];
  for (const event of events) {
    if (event.type === 'ApiKeyCreated') {
      const data = event.data as EventData<'ApiKeyCreated'>;
      created.push({
        id: data.keyId,
        project_id: data.projectId,
        name: data.name,
        prefix: data.prefix,
        created_by_key_id: data.createdByKeyId,
        created_at: event.createdAt.toISOString(),
      });
    } else if (event.type === 'ApiKeyRevoked') {
      const data = event.data as EventData<'ApiKeyRevoked'>;
      revoked.push({ id: data.keyId, revoked_at: event.createdAt.toISOString(), revoked_by_key_id: data.revokedByKeyId });
    }
  }
  if (created.length) {
    await tx.query(
      `insert into rm_api_keys (id, project_id, name, prefix, created_by_key_id, created_at)
       select id, project_id, name, prefix, created_by_key_id, created_at
       from jsonb_to_recordset($1::jsonb) as x(id text, project_id text, name text, prefix text, created_by_key_id text, created_at timestamptz)
       on conflict do nothing`,
      [JSON.stringify(created)],
    );
  }
  if (revoked.length) {
    await tx.query(
      `update rm_api_keys k set revoked_at = x.revoked_at, revoked_by_key_id = x.revoked_by_key_id
       from jsonb_to_recordset($1::jsonb) as x(id text, revoked_at timestamptz, revoked_by_key_id text)
       where k.id = x.id and k.revoked_at is null`,
      [JSON.stringify(revoked)],
    );
  }
}

export interface AccessProjectionsOptions {
  readonly store: PostgresEventStore;
  readonly db: Database;
  readonly pollIntervalMs?: number;
}

/** Keeps rm_api_keys in step with the log; runs in the runs service (hot standby across replicas). */
export function startAccessProjections(options: AccessProjectionsOptions): LogProcessor {
  return startLogProcessor(options.store, options.db, {
    name: ACCESS_READ_MODELS_PROCESSOR,
    types: TYPES,
    batchSize: 500,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    handle: (events, tx) => projectApiKeys(events, tx),
  });
}
