import { Database } from '@assay/database';
import { apiKeyDecider } from '@assay/domain';
import { eventStoreMigrations, LogProcessor, PostgresEventStore } from '@assay/event-store';
import { createTestDatabase, deciderSpec, TestDatabase } from '@assay/testing';
import { API_KEY_PATTERN, generateApiKey, hashApiKey, parseApiKey } from './api-key-format';
import { ApiKeys } from './api-keys';
import { ensureInitApiKey, initApiKeyFromEnv, issueFirstAdminKey } from './init-keys';
import { accessMigrations } from './read-models/access-migrations';
import { startAccessProjections } from './read-models/access-projections';

describe('api key format', () => {
  it('generates keys with the recognisable prefix, a public id and a 40-character secret', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey());
    for (const { key, keyId, prefix, keyHash } of keys) {
      expect(key).toMatch(API_KEY_PATTERN);
      expect(key.startsWith(`${prefix}_`)).toBe(true);
      expect(parseApiKey(key)).toEqual({ keyId });
      expect(keyHash).toBe(hashApiKey(key));
      expect(keyHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(new Set(keys.map((k) => k.key)).size).toBe(keys.length);
  });

  it('refuses anything else', () => {
    const { key } = generateApiKey();
    for (const bad of ['', 'Bearer ' + key, key + 'x', key.slice(0, -1), key.toUpperCase(), key.replace('assay_', 'asay_'), ` ${key}`, key.replace(/_([^_]+)$/, '-$1')]) {
      expect(parseApiKey(bad)).toBeNull();
    }
  });

  it('reads ASSAY_INIT_API_KEY, and stops start-up on a malformed one without echoing it', () => {
    const { key } = generateApiKey();
    expect(initApiKeyFromEnv({ ASSAY_INIT_API_KEY: key })).toBe(key);
    expect(initApiKeyFromEnv({ ASSAY_INIT_API_KEY: '' })).toBeUndefined();
    expect(initApiKeyFromEnv({})).toBeUndefined();
    expect(() => initApiKeyFromEnv({ ASSAY_INIT_API_KEY: 'hunter2-secret' })).toThrow(/ASSAY_INIT_API_KEY is malformed: an Assay API key is assay_/);
    expect(() => initApiKeyFromEnv({ ASSAY_INIT_API_KEY: 'hunter2-secret' })).not.toThrow(/hunter2/);
  });
});

describe('api key decider', () => {
  const spec = deciderSpec(apiKeyDecider);
  const created = {
    type: 'ApiKeyCreated' as const,
    data: { keyId: 'abcdefghijkl', projectId: 'p1', name: 'CI', prefix: 'assay_abcdefghijkl', keyHash: 'a'.repeat(64), createdByKeyId: null },
  };
  const create = { type: 'CreateApiKey' as const, keyId: 'abcdefghijkl', projectId: 'p1', name: '  CI ', prefix: 'assay_abcdefghijkl', keyHash: 'a'.repeat(64), createdByKeyId: null };

  it('creates a key with a trimmed name', () => spec.given([]).when(create).then([created]));
  it('refuses a nameless key', () => spec.given([]).when({ ...create, name: ' ' }).thenThrows('BAD_USER_INPUT'));
  it('refuses to create a key twice', () => spec.given([created]).when(create).thenThrows('BAD_USER_INPUT'));
  it('revokes a key once', () =>
    spec.given([created]).when({ type: 'RevokeApiKey', keyId: 'abcdefghijkl', revokedByKeyId: 'k2' }).then([
      { type: 'ApiKeyRevoked', data: { keyId: 'abcdefghijkl', revokedByKeyId: 'k2' } },
    ]));
  it('revoking a revoked key changes nothing', () =>
    spec
      .given([created, { type: 'ApiKeyRevoked', data: { keyId: 'abcdefghijkl', revokedByKeyId: null } }])
      .when({ type: 'RevokeApiKey', keyId: 'abcdefghijkl', revokedByKeyId: null })
      .then([]));
  it('cannot revoke a missing key', () => spec.given([]).when({ type: 'RevokeApiKey', keyId: 'abcdefghijkl', revokedByKeyId: null }).thenThrows('API_KEY_NOT_FOUND'));
});

/** API keys against a real PostgreSQL: the event streams, the listing, the cache. */
describe('ApiKeys', () => {
  let database: TestDatabase;
  let db: Database;
  let store: PostgresEventStore;
  let projections: LogProcessor;
  let clock = 1_000_000;
  let keys: ApiKeys;
  const projectId = 'project-1';

  beforeAll(async () => {
    database = await createTestDatabase('assay_access');
    db = await Database.connect({ url: database.url, migrations: [...eventStoreMigrations, ...accessMigrations], applicationName: 'access-spec' });
    store = new PostgresEventStore(db);
    projections = startAccessProjections({ db, store, pollIntervalMs: 20 });
    keys = new ApiKeys(store, db, { cacheTtlMs: 1_000, now: () => clock });
    await store.append([{ streamId: `project-${projectId}`, expectedVersion: 'no_stream', events: [{ type: 'ProjectCreated', data: { projectId, name: 'p' } }] }]);
  });

  afterAll(async () => {
    await projections.stop();
    await store.close();
    await db.close();
    await database.drop();
  });

  it('creates a project key that authenticates at once, is listed, and is stored only as a hash', async () => {
    const created = await keys.createApiKey({ projectId, name: 'CI', createdByKeyId: null });
    expect(created).toMatchObject({ projectId, name: 'CI', prefix: `assay_${created.id}`, revokedAt: null });
    expect(created.key).toMatch(API_KEY_PATTERN);
    expect(await keys.authenticate(created.key)).toEqual({ ok: true, key: { keyId: created.id, projectId } });

    const listed = await keys.listApiKeys(projectId);
    expect(listed).toEqual([{ id: created.id, prefix: created.prefix, name: 'CI', projectId, createdAt: created.createdAt, revokedAt: null }]);
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const secret = created.key.split('_')[2];
    const [{ n }] = await db.query(`select count(*)::int as n from assay_events where data::text like $1 or metadata::text like $1`, [`%${secret}%`]);
    expect(n).toBe(0);
    const [event] = await db.query(`select data from assay_events where stream_id = $1`, [`apikey-${created.id}`]);
    expect(event.data.keyHash).toBe(hashApiKey(created.key));
  });

  it('refuses unknown, wrong-secret and malformed keys', async () => {
    const created = await keys.createApiKey({ projectId, name: 'other', createdByKeyId: null });
    const wrongSecret = created.key.slice(0, -4) + (created.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(await keys.authenticate(wrongSecret)).toEqual({ ok: false, reason: 'invalid' });
    expect(await keys.authenticate(generateApiKey().key)).toEqual({ ok: false, reason: 'invalid' });
    expect(await keys.authenticate('not a key')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a key for a project that does not exist', async () => {
    await expect(keys.createApiKey({ projectId: 'nope', name: 'x', createdByKeyId: null })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
  });

  it('revocation is immediate in the revoking process and within the cache TTL in another', async () => {
    const created = await keys.createApiKey({ projectId, name: 'to revoke', createdByKeyId: null });
    const otherReplica = new ApiKeys(store, db, { cacheTtlMs: 1_000, now: () => clock });
    expect((await otherReplica.authenticate(created.key)).ok).toBe(true);
    expect((await keys.authenticate(created.key)).ok).toBe(true);

    const revoked = await keys.revokeApiKey(created.id, 'admin-key');
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(await keys.authenticate(created.key)).toEqual({ ok: false, reason: 'invalid' });
    // The other replica still holds its cached state: accepted until the TTL passes, not after.
    expect((await otherReplica.authenticate(created.key)).ok).toBe(true);
    clock += 1_000;
    expect(await otherReplica.authenticate(created.key)).toEqual({ ok: false, reason: 'invalid' });

    expect((await keys.revokeApiKey(created.id, null)).revokedAt).toEqual(revoked.revokedAt);
    expect((await keys.listApiKeys(projectId)).find((k) => k.id === created.id)?.revokedAt).toEqual(revoked.revokedAt);
    await expect(keys.revokeApiKey('abcdefghijkl', null)).rejects.toMatchObject({ code: 'API_KEY_NOT_FOUND' });
  });

  it('ASSAY_INIT_API_KEY: created once, idempotent across concurrent starts, a clash is an error', async () => {
    const { key } = generateApiKey();
    const log = jest.fn();
    await Promise.all([1, 2, 3].map(() => ensureInitApiKey(keys, key, log)));
    expect(log.mock.calls.map(([msg]) => msg).sort()).toEqual([
      'ASSAY_INIT_API_KEY created as an admin key',
      'ASSAY_INIT_API_KEY is an admin key',
      'ASSAY_INIT_API_KEY is an admin key',
    ]);
    expect(await keys.authenticate(key)).toEqual({ ok: true, key: { keyId: parseApiKey(key)!.keyId, projectId: null } });
    const sameIdOtherSecret = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await expect(keys.ensureAdminKey(sameIdOtherSecret, 'x')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });

    await keys.revokeApiKey(parseApiKey(key)!.keyId, null);
    expect(await keys.ensureAdminKey(key, 'again')).toBe('revoked');
    expect((await keys.authenticate(key)).ok).toBe(false);
  });

  it('issues a first admin key only while the database has never had one', async () => {
    const fresh = await createTestDatabase('assay_access_first');
    const freshDb = await Database.connect({ url: fresh.url, migrations: [...eventStoreMigrations, ...accessMigrations], applicationName: 'access-spec' });
    const freshStore = new PostgresEventStore(freshDb);
    try {
      const freshKeys = new ApiKeys(freshStore, freshDb, { projectionWaitMs: 0 });
      const first = await issueFirstAdminKey(freshKeys);
      expect(first).toMatch(API_KEY_PATTERN);
      expect(await freshKeys.authenticate(first!)).toMatchObject({ ok: true, key: { projectId: null } });
      expect(await issueFirstAdminKey(freshKeys)).toBeNull();
    } finally {
      await freshStore.close();
      await freshDb.close();
      await fresh.drop();
    }
  });
});
