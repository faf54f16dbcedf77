import { AssayError, assertValidEventData } from '@assay/contracts';
import type { Sql } from '@assay/database';
import { apiKeyDecider, ApiKeyCommand, ApiKeyEvent, ApiKeyState, apiKeyStreamId, projectStreamId } from '@assay/domain';
import { PostgresEventStore, StoredEvent, VersionConflictError } from '@assay/event-store';
import { ApiKeyAuthenticator, ApiKeyAuthenticatorOptions } from './api-key-authenticator';
import { apiKeyPrefix, generateApiKey, GeneratedApiKey, hashApiKey, parseApiKey, sameHash } from './api-key-format';
import type { AccessApi, ApiKeyView, AuthenticationResult, CreateApiKeyInput, NewApiKeyView } from './types';

export interface ApiKeysOptions extends ApiKeyAuthenticatorOptions {
  /** How long createApiKey / revokeApiKey wait for apiKeys() to show the change before returning anyway. */
  readonly projectionWaitMs?: number;
}

export const projectNotFound = (projectId: string) => new AssayError('PROJECT_NOT_FOUND', `Project ${projectId} not found.`, { projectId });

interface ApiKeyRow {
  id: string;
  project_id: string | null;
  name: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

/**
 * API keys, event-sourced like every other object: each key is a stream `apikey-<id>` holding
 * ApiKeyCreated (with the key's SHA-256, never the key) and perhaps ApiKeyRevoked. That gives the
 * audit trail (who made or revoked which key, when) for free, and one source of truth.
 *
 * Authentication reads the key's stream (see ApiKeyAuthenticator), so it never waits for a
 * projector; the `rm_api_keys` read model only serves listings. Creating and revoking wait (up to
 * `projectionWaitMs`) for the listing to catch up, but return anyway: the key works regardless,
 * and a new key's secret must never be lost to a slow projector.
 */
export class ApiKeys implements AccessApi {
  readonly authenticator: ApiKeyAuthenticator;
  private readonly projectionWaitMs: number;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly sql: Sql,
    options: ApiKeysOptions = {},
  ) {
    this.authenticator = new ApiKeyAuthenticator(store, options);
    this.projectionWaitMs = options.projectionWaitMs ?? 3_000;
  }

  authenticate(key: string): Promise<AuthenticationResult> {
    return this.authenticator.authenticate(key);
  }

  async createApiKey(input: CreateApiKeyInput): Promise<NewApiKeyView> {
    const projectId = input.projectId ?? null;
    if (projectId !== null && !(await this.projectExists(projectId))) throw projectNotFound(projectId);
    for (let attempt = 1; ; attempt++) {
      const generated = generateApiKey();
      try {
        const view = await this.create(generated, projectId, input.name, input.createdByKeyId);
        await this.waitForListing(generated.keyId, (row) => row !== null);
        return { ...view, key: generated.key };
      } catch (error) {
        // Another key drew the same 62-bit id: draw again.
        if (!(error instanceof VersionConflictError) || attempt >= 3) throw error;
      }
    }
  }

  async revokeApiKey(keyId: string, revokedByKeyId: string | null): Promise<ApiKeyView> {
    for (let attempt = 1; ; attempt++) {
      const { events, version } = await this.read(keyId);
      const decided = apiKeyDecider.decide({ type: 'RevokeApiKey', keyId, revokedByKeyId } satisfies ApiKeyCommand, fold(events));
      try {
        const appended = decided.length
          ? (await this.store.append([{ streamId: apiKeyStreamId(keyId), expectedVersion: version, events: decided.map(toNew) }])).events
          : [];
        this.authenticator.invalidate(keyId);
        const view = toView([...events, ...appended])!;
        await this.waitForListing(keyId, (row) => row?.revoked_at != null);
        return view;
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt >= 5) throw error;
      }
    }
  }

  async getApiKey(keyId: string): Promise<ApiKeyView | null> {
    if (!/^[a-z0-9]{12}$/.test(keyId)) return null;
    return toView((await this.read(keyId)).events);
  }

  async listApiKeys(projectId: string | null): Promise<ApiKeyView[]> {
    const rows = await this.sql.query<ApiKeyRow>(
      `select id, project_id, name, prefix, created_at, revoked_at from rm_api_keys
       where project_id is not distinct from $1 order by created_at, id`,
      [projectId],
    );
    return rows.map(rowToView);
  }

  async projectExists(projectId: string): Promise<boolean> {
    return (await this.store.streamVersion(projectStreamId(projectId))) > 0;
  }

  /**
   * ASSAY_INIT_API_KEY: makes `key` an admin key if it is not one yet. Idempotent, and safe when
   * several processes start at once (the stream is created with expectedVersion 'no_stream').
   * A key of that id made from another value is an error: the value was changed by hand.
   * Returns 'created', 'exists', or 'revoked' (it exists but an admin revoked it: it stays so).
   */
  async ensureAdminKey(key: string, name: string): Promise<'created' | 'exists' | 'revoked'> {
    const parsed = parseApiKey(key);
    if (!parsed) throw new AssayError('BAD_USER_INPUT', 'The key is not in the Assay API key format.');
    const keyHash = hashApiKey(key);
    try {
      await this.create({ keyId: parsed.keyId, key, prefix: apiKeyPrefix(parsed.keyId), keyHash }, null, name, null);
      return 'created';
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
    }
    const state = fold((await this.read(parsed.keyId)).events);
    if (!state.exists || !sameHash(state.keyHash, keyHash) || state.projectId !== null) {
      throw new AssayError(
        'BAD_USER_INPUT',
        `An API key with id ${parsed.keyId} already exists and is not this admin key: generate a new value (another id).`,
      );
    }
    return state.revoked ? 'revoked' : 'exists';
  }

  /**
   * Whether an admin key was ever created in this database (revoked or not). Reads the event log
   * itself: meant for start-up (`npm start` prints a first admin key when there is none), not for
   * requests.
   */
  async anyAdminKeyEver(): Promise<boolean> {
    const [row] = await this.sql.query<{ found: boolean }>(
      `select exists(select 1 from assay_events where type = 'ApiKeyCreated' and data->'projectId' = 'null'::jsonb) as found`,
    );
    return row.found;
  }

  private async create(generated: GeneratedApiKey, projectId: string | null, name: string, createdByKeyId: string | null): Promise<ApiKeyView> {
    const events = apiKeyDecider.decide(
      { type: 'CreateApiKey', keyId: generated.keyId, projectId, name, prefix: generated.prefix, keyHash: generated.keyHash, createdByKeyId },
      apiKeyDecider.initialState(),
    );
    const { events: stored } = await this.store.append([{ streamId: apiKeyStreamId(generated.keyId), expectedVersion: 'no_stream', events: events.map(toNew) }]);
    return toView(stored)!;
  }

  private async read(keyId: string): Promise<{ events: StoredEvent[]; version: number }> {
    const events = await this.store.readStream(apiKeyStreamId(keyId));
    return { events, version: events.at(-1)?.streamPosition ?? 0 };
  }

  private async waitForListing(keyId: string, done: (row: ApiKeyRow | null) => boolean): Promise<void> {
    const deadline = Date.now() + this.projectionWaitMs;
    for (let delay = 2; Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
      const [row] = await this.sql.query<ApiKeyRow>('select id, revoked_at from rm_api_keys where id = $1', [keyId]);
      if (done(row ?? null)) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function toNew(event: ApiKeyEvent) {
  assertValidEventData(event.type, event.data);
  return { type: event.type, data: event.data };
}

function fold(events: readonly StoredEvent[]): ApiKeyState {
  return events.reduce<ApiKeyState>((state, event) => apiKeyDecider.evolve(state, { type: event.type, data: event.data } as ApiKeyEvent), apiKeyDecider.initialState());
}

/** The view of a key from its stream: createdAt and revokedAt are the events' times. */
function toView(events: readonly StoredEvent[]): ApiKeyView | null {
  const state = fold(events);
  if (!state.exists) return null;
  const revoked = events.find((event) => event.type === 'ApiKeyRevoked');
  return {
    id: state.keyId,
    prefix: state.prefix,
    name: state.name,
    projectId: state.projectId,
    createdAt: events[0].createdAt,
    revokedAt: revoked?.createdAt ?? null,
  };
}

function rowToView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    prefix: row.prefix,
    name: row.name,
    projectId: row.project_id,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
  };
}
