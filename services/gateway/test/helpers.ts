import { request as httpRequest } from 'node:http';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { TEST_ADMIN_KEY } from './fake-access';

export { TEST_ADMIN_KEY };

/** `Authorization: Bearer <key>` (the test admin key by default; null: no header). */
export function auth(key: string | null = TEST_ADMIN_KEY): Record<string, string> {
  return key === null ? {} : { authorization: `Bearer ${key}` };
}

export interface GqlResponse<T = any> {
  status: number;
  body: { data?: T; errors?: { message: string; extensions?: Record<string, any>; path?: (string | number)[] }[] };
}

export async function gql<T = any>(base: string, query: string, variables?: Record<string, unknown>, key: string | null = TEST_ADMIN_KEY): Promise<GqlResponse<T>> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth(key) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GqlResponse<T>['body'] };
}

/** POSTs raw bytes (whatever they are) with node:http, tolerating the server answering before the upload ends. */
export function postRaw(url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...auth(), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // The server may answer 413 and stop reading: a write error after the response is expected.
    req.on('error', (err) => reject(err));
    req.end(body);
  });
}

export function wsClient(base: string, key: string | null = TEST_ADMIN_KEY): Client {
  return createClient({
    url: `${base.replace(/^http/, 'ws')}/graphql`,
    connectionParams: key === null ? undefined : { authorization: `Bearer ${key}` },
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
  });
}

export interface Collected {
  messages: any[];
  errors: unknown[];
  completed: boolean;
  unsubscribe: () => void;
}

export function collect(client: Client, query: string, variables: Record<string, unknown>): Collected {
  const out: Collected = { messages: [], errors: [], completed: false, unsubscribe: () => undefined };
  out.unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (m) => void out.messages.push(m),
      error: (e) => void out.errors.push(e),
      complete: () => {
        out.completed = true;
      },
    },
  );
  return out;
}

export async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
