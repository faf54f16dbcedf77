import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The API key format: `assay_<id>_<secret>`.
 *
 * - `assay_`: a fixed prefix, so secret scanners (GitHub push protection, gitleaks, trufflehog)
 *   can recognise a leaked key with API_KEY_PATTERN and people can tell what it is.
 * - `<id>`: 12 characters [a-z0-9], public. It names the key's event stream (`apikey-<id>`), so
 *   the gateway finds the key with one indexed read of the event store, the source of truth, and
 *   never needs a lookup by secret. `assay_<id>` is the `prefix` the API shows in key lists.
 * - `<secret>`: 40 characters [A-Za-z0-9] from the CSPRNG, about 238 bits.
 *
 * Only the SHA-256 of the whole key is stored. A fast unsalted hash is the standard choice for
 * high-entropy random tokens (as GitHub and Stripe do): slow password hashes (argon2, bcrypt) exist
 * to make guessing *low-entropy* passwords expensive, and nobody can enumerate 2^238 secrets
 * whatever the hash costs, while a slow hash would cost milliseconds of CPU on every request. No
 * pepper either: it would be a secret every gateway replica must share forever (losing or
 * rotating it invalidates every key) for no gain against an attacker who reads the database.
 *
 * ASSAY_INIT_API_KEY values may be made by hand, e.g. `assay_$(openssl rand -hex 6)_$(openssl rand -hex 20)`:
 * hex fits both alphabets.
 */
export const API_KEY_PREFIX = 'assay_';
export const API_KEY_ID_LENGTH = 12;
export const API_KEY_SECRET_LENGTH = 40;
export const API_KEY_PATTERN = /^assay_([a-z0-9]{12})_([A-Za-z0-9]{40})$/;
/** What the API says a key looks like, in error messages. */
export const API_KEY_FORMAT_HINT = 'assay_ followed by a 12-character id of a-z and 0-9, _ and a 40-character secret of A-Z, a-z and 0-9';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniformly random characters of `alphabet` (rejection sampling: no modulo bias). */
function randomString(alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function newApiKeyId(): string {
  return randomString(ID_ALPHABET, API_KEY_ID_LENGTH);
}

export interface GeneratedApiKey {
  readonly keyId: string;
  /** The full key: shown once, never stored. */
  readonly key: string;
  readonly prefix: string;
  readonly keyHash: string;
}

export function generateApiKey(keyId = newApiKeyId()): GeneratedApiKey {
  const key = `${API_KEY_PREFIX}${keyId}_${randomString(SECRET_ALPHABET, API_KEY_SECRET_LENGTH)}`;
  return { keyId, key, prefix: apiKeyPrefix(keyId), keyHash: hashApiKey(key) };
}

export function apiKeyPrefix(keyId: string): string {
  return `${API_KEY_PREFIX}${keyId}`;
}

/** The key's id when `key` has the format of an Assay key, else null. Says nothing about validity. */
export function parseApiKey(key: string): { keyId: string } | null {
  const match = API_KEY_PATTERN.exec(key);
  return match ? { keyId: match[1] } : null;
}

/** Lower-case hex SHA-256 of the key's UTF-8 bytes: what ApiKeyCreated stores. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares two hex hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
