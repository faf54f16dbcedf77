import { API_KEY_FORMAT_HINT, parseApiKey } from './api-key-format';
import type { ApiKeys } from './api-keys';

export const INIT_API_KEY_ENV = 'ASSAY_INIT_API_KEY';

/**
 * ASSAY_INIT_API_KEY from the environment: undefined when unset or empty. A value that is not an
 * Assay key stops start-up with a message that says what a key looks like (never the value).
 */
export function initApiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[INIT_API_KEY_ENV]?.trim();
  if (!value) return undefined;
  if (!parseApiKey(value)) {
    throw new Error(
      `${INIT_API_KEY_ENV} is malformed: an Assay API key is ${API_KEY_FORMAT_HINT}. ` +
        `Generate one with: echo "assay_$(openssl rand -hex 6)_$(openssl rand -hex 20)"`,
    );
  }
  return value;
}

/**
 * Makes ASSAY_INIT_API_KEY an admin key (idempotent; any number of processes may do it at once).
 * A revoked init key stays revoked: set a new value to get a new admin key.
 */
export async function ensureInitApiKey(access: ApiKeys, key: string, log: (msg: string, extra?: object) => void): Promise<void> {
  const outcome = await access.ensureAdminKey(key, 'initial admin key (ASSAY_INIT_API_KEY)');
  const keyId = parseApiKey(key)!.keyId;
  if (outcome === 'revoked') log(`${INIT_API_KEY_ENV} names a revoked key: it is not accepted; set a new value for a new admin key`, { keyId });
  else log(outcome === 'created' ? `${INIT_API_KEY_ENV} created as an admin key` : `${INIT_API_KEY_ENV} is an admin key`, { keyId });
}

/**
 * `npm start` on a database that has never had an admin key (a fresh data folder, or a first start
 * that failed before it got this far): creates one and returns it, to be printed once. Later
 * starts return null: the key is not stored anywhere it could be shown again.
 */
export async function issueFirstAdminKey(access: ApiKeys): Promise<string | null> {
  if (await access.anyAdminKeyEver()) return null;
  const created = await access.createApiKey({ projectId: null, name: 'first admin key (npm start)', createdByKeyId: null });
  return created.key;
}
