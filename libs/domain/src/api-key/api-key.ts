import { AssayError, ApiKeyCreated, ApiKeyRevoked } from '@assay/contracts';
import type { Decider } from '../decider/decider';

export const apiKeyStreamId = (keyId: string) => `apikey-${keyId}`;

export const MAX_API_KEY_NAME_LENGTH = 200;

/**
 * Creating a key: the handler draws the id and the secret and passes only the hash down here, so
 * the key itself never reaches an event.
 */
export interface CreateApiKey {
  readonly type: 'CreateApiKey';
  readonly keyId: string;
  readonly projectId: string | null;
  readonly name: string;
  readonly prefix: string;
  readonly keyHash: string;
  readonly createdByKeyId: string | null;
}

export interface RevokeApiKey {
  readonly type: 'RevokeApiKey';
  readonly keyId: string;
  readonly revokedByKeyId: string | null;
}

export type ApiKeyCommand = CreateApiKey | RevokeApiKey;
export type ApiKeyEvent = ApiKeyCreated | ApiKeyRevoked;

export type ApiKeyState =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly keyId: string;
      readonly projectId: string | null;
      readonly name: string;
      readonly prefix: string;
      readonly keyHash: string;
      readonly revoked: boolean;
    };

export const apiKeyNotFound = (keyId: string) =>
  new AssayError('API_KEY_NOT_FOUND', `API key "${keyId}" does not exist: check the key id (apiKeys lists them).`, { keyId });

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyState, ApiKeyEvent> = {
  initialState: () => ({ exists: false }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateApiKey': {
        if (state.exists) throw new AssayError('BAD_USER_INPUT', `API key ${command.keyId} already exists.`);
        const name = command.name.trim();
        if (!name) throw new AssayError('BAD_USER_INPUT', 'An API key needs a name (what or who uses it, e.g. "CI").');
        if (name.length > MAX_API_KEY_NAME_LENGTH) {
          throw new AssayError('BAD_USER_INPUT', `API key names are limited to ${MAX_API_KEY_NAME_LENGTH} characters; shorten it.`);
        }
        return [
          {
            type: 'ApiKeyCreated',
            data: {
              keyId: command.keyId,
              projectId: command.projectId,
              name,
              prefix: command.prefix,
              keyHash: command.keyHash,
              createdByKeyId: command.createdByKeyId,
            },
          },
        ];
      }
      case 'RevokeApiKey': {
        if (!state.exists) throw apiKeyNotFound(command.keyId);
        // Revoking twice changes nothing: the first revocation stands.
        if (state.revoked) return [];
        return [{ type: 'ApiKeyRevoked', data: { keyId: command.keyId, revokedByKeyId: command.revokedByKeyId } }];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ApiKeyCreated': {
        const { keyId, projectId, name, prefix, keyHash } = event.data;
        return { exists: true, keyId, projectId, name, prefix, keyHash, revoked: false };
      }
      case 'ApiKeyRevoked':
        return state.exists ? { ...state, revoked: true } : state;
    }
  },
};
