import { createClient, Client } from 'graphql-ws';
import WebSocket from 'ws';
import { generateApiKey } from '@assay/access';

/**
 * The admin key of the stacks these tests start: service-stack.ts passes it as ASSAY_INIT_API_KEY
 * to every process, and the helpers below send it unless told otherwise (`useApiKey`, or a key
 * argument). A fresh one per test process.
 */
export const E2E_ADMIN_KEY = generateApiKey().key;
let defaultApiKey: string | null = E2E_ADMIN_KEY;

/** Sends `key` from now on (e.g. the admin key `npm start` printed); null: no key. */
export function useApiKey(key: string | null): void {
  defaultApiKey = key;
}

/** `Authorization: Bearer <key>` for fetch (the current default key unless given). */
export function authHeaders(key: string | null = defaultApiKey): Record<string, string> {
  return key === null ? {} : { authorization: `Bearer ${key}` };
}

export interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs one operation; returns data or throws with the error codes in the message. */
export async function gql<T = any>(httpUrl: string, query: string, variables: Record<string, unknown> = {}, key: string | null = defaultApiKey): Promise<T> {
  const response = await rawGql<T>(httpUrl, query, variables, key);
  if (response.errors?.length) {
    const error = new Error(response.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
    Object.assign(error, { errors: response.errors });
    throw error;
  }
  return response.data as T;
}

export async function rawGql<T = any>(httpUrl: string, query: string, variables: Record<string, unknown> = {}, key: string | null = defaultApiKey): Promise<GraphQLResponse<T>> {
  const res = await fetch(httpUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders(key) }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as GraphQLResponse<T>;
}

export function wsClient(wsUrl: string, key: string | null = defaultApiKey): Client {
  const connectionParams = key === null ? undefined : { authorization: `Bearer ${key}` };
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams });
}

/**
 * Subscribes and collects every pushed payload until `until` returns true for one of them,
 * or the timeout passes (then rejects with what was seen).
 */
export function collectUntil<T>(client: Client, query: string, variables: Record<string, unknown>, until: (payload: T) => boolean, timeoutMs: number) {
  const seen: { payload: T; receivedAt: number }[] = [];
  const done = new Promise<typeof seen>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`subscription timed out after ${timeoutMs} ms; last payload: ${JSON.stringify(seen.at(-1)?.payload)}`));
    }, timeoutMs);
    const unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) return reject(new Error(JSON.stringify(result.errors)));
          const payload = result.data as T;
          seen.push({ payload, receivedAt: Date.now() });
          if (until(payload)) {
            clearTimeout(timer);
            unsubscribe();
            resolve(seen);
          }
        },
        error: (error) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        },
        complete: () => undefined,
      },
    );
  });
  return { seen, done };
}
