import { apiKeyDecider, ApiKeyEvent, ApiKeyState, apiKeyStreamId } from '@assay/domain';
import type { PostgresEventStore } from '@assay/event-store';
import { hashApiKey, parseApiKey, sameHash } from './api-key-format';
import type { AuthenticationResult } from './types';

/** How long a key's state may be reused from memory before the event store is asked again. */
export const DEFAULT_API_KEY_CACHE_TTL_MS = 2_000;

export interface ApiKeyAuthenticatorOptions {
  /**
   * The staleness bound: a key revoked through another process is still accepted here for at
   * most this long (through this process: not at all, see `invalidate`). Default 2 s.
   */
  readonly cacheTtlMs?: number;
  /** Most keys remembered; the least recently fetched go first. */
  readonly cacheCapacity?: number;
  readonly now?: () => number;
}

type Loaded = Extract<ApiKeyState, { exists: true }>;

/**
 * Checks presented API keys against their event streams.
 *
 * The key names its stream (`apikey-<id>`), so a check is one indexed read of the event store,
 * which is the source of truth: a key is usable the moment createApiKey has returned, on every
 * replica, and needs no projector to be running. The state read is kept in memory for
 * `cacheTtlMs` (default 2 s), so a busy client costs one query per key per 2 s per replica;
 * concurrent checks of the same key share one read.
 *
 * Revocation: `invalidate(keyId)` (called by revokeApiKey) drops the entry on the process that
 * revoked, so there the key is refused from the next request on. Every other replica refuses it
 * once its entry is older than the TTL: the staleness bound is `cacheTtlMs`. Unknown keys are
 * never cached, so a key created on another replica is never refused here.
 *
 * The comparison is of SHA-256 hashes in constant time; the presented key is never kept.
 */
export class ApiKeyAuthenticator {
  private readonly entries = new Map<string, { state: Loaded; fetchedAt: number }>();
  private readonly inFlight = new Map<string, Promise<Loaded | null>>();
  /** Bumped by every invalidate: a read that started before one must not refill the cache. */
  private invalidations = 0;
  private readonly ttlMs: number;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(
    private readonly store: PostgresEventStore,
    options: ApiKeyAuthenticatorOptions = {},
  ) {
    this.ttlMs = options.cacheTtlMs ?? DEFAULT_API_KEY_CACHE_TTL_MS;
    this.capacity = options.cacheCapacity ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get cacheTtlMs(): number {
    return this.ttlMs;
  }

  async authenticate(key: string): Promise<AuthenticationResult> {
    const parsed = parseApiKey(key);
    if (!parsed) return { ok: false, reason: 'malformed' };
    const state = await this.load(parsed.keyId);
    if (!state || state.revoked || !sameHash(hashApiKey(key), state.keyHash)) return { ok: false, reason: 'invalid' };
    return { ok: true, key: { keyId: state.keyId, projectId: state.projectId } };
  }

  /** Forget a key's state (it was just revoked here): the next check reads the store. */
  invalidate(keyId: string): void {
    this.invalidations += 1;
    this.entries.delete(keyId);
    this.inFlight.delete(keyId);
  }

  private async load(keyId: string): Promise<Loaded | null> {
    const cached = this.entries.get(keyId);
    if (cached && this.now() - cached.fetchedAt < this.ttlMs) return cached.state;
    const pending = this.inFlight.get(keyId);
    if (pending) return pending;
    const read = this.read(keyId).finally(() => {
      if (this.inFlight.get(keyId) === read) this.inFlight.delete(keyId);
    });
    this.inFlight.set(keyId, read);
    return read;
  }

  private async read(keyId: string): Promise<Loaded | null> {
    const fetchedAt = this.now();
    const invalidations = this.invalidations;
    const events = await this.store.readStream(apiKeyStreamId(keyId));
    let state: ApiKeyState = apiKeyDecider.initialState();
    for (const event of events) state = apiKeyDecider.evolve(state, { type: event.type, data: event.data } as ApiKeyEvent);
    if (!state.exists) return null;
    // Revoked here while this read ran: its answer may predate the revocation, so don't keep it.
    if (invalidations !== this.invalidations) return state;
    this.entries.delete(keyId);
    this.entries.set(keyId, { state, fetchedAt });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return state;
  }
}
