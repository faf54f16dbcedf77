/** An API key as the API shows it: never the key itself. */
export interface ApiKeyView {
  readonly id: string;
  /** `assay_<id>`: how the key starts, to recognise it in a list. */
  readonly prefix: string;
  readonly name: string;
  /** null for an admin key. */
  readonly projectId: string | null;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

/** What createApiKey returns: the only time the key is ever shown. */
export interface NewApiKeyView extends ApiKeyView {
  readonly key: string;
}

/** A key that authenticated: who is calling. */
export interface AuthenticatedKey {
  readonly keyId: string;
  /** null: an admin key. */
  readonly projectId: string | null;
}

export type AuthenticationResult =
  | { readonly ok: true; readonly key: AuthenticatedKey }
  /** malformed: not an Assay key at all (no database lookup); invalid: unknown, wrong secret or revoked. */
  | { readonly ok: false; readonly reason: 'malformed' | 'invalid' };

export interface CreateApiKeyInput {
  /** null or absent: an admin key. */
  readonly projectId?: string | null;
  readonly name: string;
  /** The key of the caller, for the audit trail; null at start-up. */
  readonly createdByKeyId: string | null;
}

/** What the gateway needs of access control. */
export interface AccessApi {
  /** Checks a presented key. Cached per process for at most the cache TTL (see ApiKeyAuthenticator). */
  authenticate(key: string): Promise<AuthenticationResult>;
  /** Throws PROJECT_NOT_FOUND when the project does not exist. */
  createApiKey(input: CreateApiKeyInput): Promise<NewApiKeyView>;
  /** Throws API_KEY_NOT_FOUND; revoking a revoked key returns it unchanged. Takes effect at once on this process. */
  revokeApiKey(keyId: string, revokedByKeyId: string | null): Promise<ApiKeyView>;
  /** From the key's stream (not a read model): current, for authorization decisions. */
  getApiKey(keyId: string): Promise<ApiKeyView | null>;
  /** Keys of a project (null: the admin keys), oldest first, revoked ones included. */
  listApiKeys(projectId: string | null): Promise<ApiKeyView[]>;
  /** From the project's stream: true as soon as createProject has returned. */
  projectExists(projectId: string): Promise<boolean>;
}
