/**
 * In-memory stand-in for @assay/access, for gateway tests: real key format and hashing, keys kept
 * in a Map, no cache (revocation is immediate), with the AccessApi contract's errors.
 */
import {
  apiKeyPrefix,
  generateApiKey,
  hashApiKey,
  parseApiKey,
  sameHash,
  type AccessApi,
  type ApiKeyView,
  type AuthenticationResult,
  type CreateApiKeyInput,
  type NewApiKeyView,
} from '@assay/access';
import { AssayError } from '@assay/contracts';

/** The admin key every gateway test app accepts (test helpers send it unless told otherwise). */
export const TEST_ADMIN_KEY = 'assay_testadmin000_' + 'A'.repeat(40);

type StoredKey = { -readonly [K in keyof ApiKeyView]: ApiKeyView[K] } & { keyHash: string };

export class FakeAccess implements AccessApi {
  readonly keys = new Map<string, StoredKey>();
  private clock = Date.UTC(2025, 0, 1);

  constructor(private readonly projectExistsFn: (projectId: string) => boolean) {
    const { keyId } = parseApiKey(TEST_ADMIN_KEY)!;
    this.keys.set(keyId, { id: keyId, prefix: apiKeyPrefix(keyId), name: 'test admin', projectId: null, createdAt: new Date(this.clock), revokedAt: null, keyHash: hashApiKey(TEST_ADMIN_KEY) });
  }

  async authenticate(key: string): Promise<AuthenticationResult> {
    const parsed = parseApiKey(key);
    if (!parsed) return { ok: false, reason: 'malformed' };
    const stored = this.keys.get(parsed.keyId);
    if (!stored || stored.revokedAt || !sameHash(stored.keyHash, hashApiKey(key))) return { ok: false, reason: 'invalid' };
    return { ok: true, key: { keyId: stored.id, projectId: stored.projectId } };
  }

  async createApiKey(input: CreateApiKeyInput): Promise<NewApiKeyView> {
    const projectId = input.projectId ?? null;
    if (projectId !== null && !this.projectExistsFn(projectId)) throw new AssayError('PROJECT_NOT_FOUND', `Project ${projectId} not found.`);
    if (!input.name.trim()) throw new AssayError('BAD_USER_INPUT', 'An API key needs a name.');
    const generated = generateApiKey();
    const view: StoredKey = { id: generated.keyId, prefix: generated.prefix, name: input.name.trim(), projectId, createdAt: new Date((this.clock += 1000)), revokedAt: null, keyHash: generated.keyHash };
    this.keys.set(view.id, view);
    return { ...publicView(view), key: generated.key };
  }

  async revokeApiKey(keyId: string): Promise<ApiKeyView> {
    const stored = this.keys.get(keyId);
    if (!stored) throw new AssayError('API_KEY_NOT_FOUND', `API key "${keyId}" does not exist: check the key id (apiKeys lists them).`, { keyId });
    stored.revokedAt ??= new Date((this.clock += 1000));
    return publicView(stored);
  }

  async getApiKey(keyId: string): Promise<ApiKeyView | null> {
    const stored = this.keys.get(keyId);
    return stored ? publicView(stored) : null;
  }

  async listApiKeys(projectId: string | null): Promise<ApiKeyView[]> {
    return [...this.keys.values()].filter((k) => k.projectId === projectId).map(publicView);
  }

  async projectExists(projectId: string): Promise<boolean> {
    return this.projectExistsFn(projectId);
  }
}

function publicView(stored: StoredKey): ApiKeyView {
  const { keyHash: _hash, ...view } = stored;
  return { ...view };
}
