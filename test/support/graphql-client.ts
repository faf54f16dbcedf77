import { createClient, Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs one operation; returns data or throws with the error codes in the message. */
export async function gql<T = any>(httpUrl: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await rawGql<T>(httpUrl, query, variables);
  if (response.errors?.length) {
    const error = new Error(response.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
    Object.assign(error, { errors: response.errors });
    throw error;
  }
  return response.data as T;
}

export async function rawGql<T = any>(httpUrl: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
  const res = await fetch(httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as GraphQLResponse<T>;
}

export function wsClient(wsUrl: string): Client {
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
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
