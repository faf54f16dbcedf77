import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real OpenAI-compatible chat-completions server on 127.0.0.1 (ephemeral port), for tests and
 * benchmarks of anything that calls a model: `POST /v1/chat/completions` (and `/chat/completions`).
 *
 *   const stub = await startOpenAIStub({ latencyMs: { min: 100, max: 200 } });
 *   new OpenAI({ baseURL: stub.baseURL, apiKey: 'test' });
 *   stub.setBehaviour((req) => (req.index === 0 ? stubReply.rateLimited({ retryAfterSeconds: 1 }) : undefined));
 *   expect(stub.maxInFlightSeen).toBeLessThanOrEqual(8);
 *   await stub.close();
 *
 * Every request is answered by the behaviour (a function of the request), or, when it returns
 * `undefined`, by the default: the configured `answer` (a string, or a function of the request),
 * after the configured latency. With no options the stub answers "stub answer" at once, so tests
 * are deterministic unless they ask for randomness.
 */

export interface StubMessage {
  readonly role: string;
  readonly content: string;
}

/** One request as the stub saw it. The log entry is updated as the request is answered. */
export interface StubRequest {
  /** 0-based arrival order. */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed JSON body (undefined if it was not JSON). */
  readonly body: any;
  readonly model: string | undefined;
  /** Messages with their content flattened to text. */
  readonly messages: readonly StubMessage[];
  /** Content of the last user message ('' if none): what most behaviours key on. */
  readonly prompt: string;
  /** `Date.now()` when the request's headers arrived. */
  readonly arrivedAt: number;
  /** `Date.now()` when the response was sent (or the client went away); undefined while in flight. */
  respondedAt?: number;
  /** HTTP status sent; undefined while in flight or if the client went away first. */
  status?: number;
  /** What was sent: 'answer', 'error', 'hang', 'raw', or 'aborted' (the client went away first). */
  outcome?: 'answer' | 'error' | 'hang' | 'raw' | 'aborted';
}

export interface StubUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens?: number;
}

export type StubLatency = number | { readonly min: number; readonly max: number };

/** What to send back for one request. Build them with `stubReply.*`. */
export type StubReply =
  | {
      readonly kind: 'answer';
      readonly content: string;
      readonly latencyMs?: StubLatency;
      /** Default: prompt ≈ characters / 4, completion ≈ content length / 4. */
      readonly usage?: Partial<StubUsage>;
      /** Default: the request's model. */
      readonly model?: string;
      readonly finishReason?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly message?: string;
      readonly type?: string;
      readonly code?: string | null;
      /** Sent as `Retry-After` (seconds, may be fractional). */
      readonly retryAfterSeconds?: number;
      /** Sent as `retry-after-ms`. */
      readonly retryAfterMs?: number;
      readonly latencyMs?: StubLatency;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Never answers: the request stays in flight until the client gives up or the stub closes. */
  | { readonly kind: 'hang' }
  /** Any status and body, verbatim (e.g. a broken JSON body). */
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly contentType?: string; readonly latencyMs?: StubLatency; readonly headers?: Readonly<Record<string, string>> };

/** Helpers to build replies. */
export const stubReply = {
  /** A normal completion whose message content is `content`. */
  answer: (content: string, options: Omit<Extract<StubReply, { kind: 'answer' }>, 'kind' | 'content'> = {}): StubReply => ({ kind: 'answer', content, ...options }),
  /** A completion whose content is `JSON.stringify(value)`: e.g. a judge's `{score, reasoning}`. */
  json: (value: unknown, options: Omit<Extract<StubReply, { kind: 'answer' }>, 'kind' | 'content'> = {}): StubReply => ({ kind: 'answer', content: JSON.stringify(value), ...options }),
  /** A completion whose content is not JSON (for judges that expect JSON). */
  malformed: (content = 'I think the answer is good, score: maybe', options: Omit<Extract<StubReply, { kind: 'answer' }>, 'kind' | 'content'> = {}): StubReply => ({ kind: 'answer', content, ...options }),
  /** HTTP 429 with `Retry-After` and/or `retry-after-ms` when given. */
  rateLimited: (options: { retryAfterSeconds?: number; retryAfterMs?: number; latencyMs?: StubLatency } = {}): StubReply => ({
    kind: 'error',
    status: 429,
    message: 'Rate limit reached (stub)',
    type: 'requests',
    code: 'rate_limit_exceeded',
    ...options,
  }),
  /** Any HTTP error with an OpenAI-style `{error: {...}}` body (500, 503, 400, 401…). */
  error: (status: number, options: Omit<Extract<StubReply, { kind: 'error' }>, 'kind' | 'status'> = {}): StubReply => ({ kind: 'error', status, ...options }),
  hang: (): StubReply => ({ kind: 'hang' }),
  raw: (status: number, body: string, options: { contentType?: string; latencyMs?: StubLatency; headers?: Record<string, string> } = {}): StubReply => ({ kind: 'raw', status, body, ...options }),
};

/** Decides the reply for one request; `undefined` means the default answer. */
export type StubBehaviour = (request: StubRequest) => StubReply | undefined | Promise<StubReply | undefined>;

export interface OpenAIStubOptions {
  /** The default answer's content: a string or a function of the request (default "stub answer"). */
  readonly answer?: string | ((request: StubRequest) => string);
  /** Latency of every reply that does not set its own: fixed ms or uniform in [min, max] (default 0). */
  readonly latencyMs?: StubLatency;
  /** Initial behaviour (see `setBehaviour`). */
  readonly behaviour?: StubBehaviour;
  /** Usage reported by default answers, or a function of request and content. */
  readonly usage?: Partial<StubUsage> | ((request: StubRequest, content: string) => Partial<StubUsage>);
  /** If set, requests without `Authorization: Bearer <apiKey>` get 401. */
  readonly apiKey?: string;
  /** Port to listen on (default 0: any free port). */
  readonly port?: number;
}

export interface OpenAIStub {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** http://127.0.0.1:port/v1: pass as the OpenAI client's `baseURL`. */
  readonly baseURL: string;
  /** Every chat-completion request in arrival order (live: entries gain respondedAt/status). */
  readonly requests: readonly StubRequest[];
  /** Requests being handled now (including hanging ones). */
  readonly inFlight: number;
  /** Most requests in flight at once since start (or the last `reset`). */
  readonly maxInFlightSeen: number;
  /** Replaces the behaviour; `undefined` restores the default answer. */
  setBehaviour(behaviour: StubBehaviour | undefined): void;
  /** Clears the request log and maxInFlightSeen (in-flight requests keep counting). */
  reset(): void;
  /** Resolves when `predicate(requests)` holds (polls every 10 ms), rejects after `timeoutMs`. */
  waitFor(predicate: (requests: readonly StubRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops listening and drops every connection, hanging requests included. */
  close(): Promise<void>;
}

export async function startOpenAIStub(options: OpenAIStubOptions = {}): Promise<OpenAIStub> {
  const requests: StubRequest[] = [];
  let behaviour: StubBehaviour | undefined = options.behaviour;
  let inFlight = 0;
  let maxInFlightSeen = 0;
  let nextIndex = 0;
  let nextId = 1;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const delay = (spec: StubLatency | undefined): Promise<void> => {
    const ms = latency(spec ?? options.latencyMs);
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/chat/completions')) {
      req.resume();
      sendJson(res, 404, { error: { message: `The stub only serves POST /v1/chat/completions, not ${req.method} ${path}`, type: 'invalid_request_error', code: 'not_found' } });
      return;
    }
    const arrivedAt = Date.now();
    inFlight++;
    maxInFlightSeen = Math.max(maxInFlightSeen, inFlight);
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      inFlight--;
    };
    const text = await readBody(req);
    const body = safeParse(text);
    const messages: StubMessage[] = Array.isArray(body?.messages) ? body.messages.map((m: any) => ({ role: String(m?.role ?? ''), content: flattenContent(m?.content) })) : [];
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const entry: StubRequest = {
      index: nextIndex++,
      method: req.method,
      path,
      headers: req.headers,
      body,
      model: typeof body?.model === 'string' ? body.model : undefined,
      messages,
      prompt: lastUser?.content ?? '',
      arrivedAt,
    };
    requests.push(entry);

    // The client gave up (timeout, abort) before we answered.
    res.on('close', () => {
      if (entry.respondedAt === undefined) {
        entry.respondedAt = Date.now();
        entry.outcome = 'aborted';
      }
      done();
    });

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      finish(entry, res, done, 401, 'error', { error: { message: 'Incorrect API key provided (stub)', type: 'invalid_request_error', code: 'invalid_api_key' } });
      return;
    }

    let chosen: StubReply | undefined;
    try {
      chosen = await behaviour?.(entry);
    } catch (error) {
      chosen = stubReply.error(500, { message: `stub behaviour threw: ${error instanceof Error ? error.message : String(error)}` });
    }
    if (!chosen) {
      const content = typeof options.answer === 'function' ? options.answer(entry) : (options.answer ?? 'stub answer');
      chosen = stubReply.answer(content);
    }

    if (chosen.kind === 'hang') {
      entry.outcome = 'hang';
      return; // nothing is ever written; close() or the client ends it
    }
    await delay(chosen.latencyMs);
    if (res.destroyed || res.writableEnded) return;

    if (chosen.kind === 'raw') {
      writeRaw(entry, res, done, chosen.status, chosen.body, chosen.contentType ?? 'application/json', chosen.headers);
      return;
    }
    if (chosen.kind === 'error') {
      const headers: Record<string, string> = { ...chosen.headers };
      if (chosen.retryAfterSeconds !== undefined) headers['retry-after'] = String(chosen.retryAfterSeconds);
      if (chosen.retryAfterMs !== undefined) headers['retry-after-ms'] = String(chosen.retryAfterMs);
      finish(
        entry,
        res,
        done,
        chosen.status,
        'error',
        { error: { message: chosen.message ?? `stub error ${chosen.status}`, type: chosen.type ?? (chosen.status >= 500 ? 'server_error' : 'invalid_request_error'), param: null, code: chosen.code ?? null } },
        headers,
      );
      return;
    }
    const defaultUsage = typeof options.usage === 'function' ? options.usage(entry, chosen.content) : options.usage;
    const promptTokens = chosen.usage?.prompt_tokens ?? defaultUsage?.prompt_tokens ?? estimateTokens(messages.map((m) => m.content).join('\n'));
    const completionTokens = chosen.usage?.completion_tokens ?? defaultUsage?.completion_tokens ?? estimateTokens(chosen.content);
    finish(
      entry,
      res,
      done,
      200,
      'answer',
      {
        id: `chatcmpl-stub-${nextId++}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: chosen.model ?? entry.model ?? 'stub-model',
        choices: [{ index: 0, message: { role: 'assistant', content: chosen.content, refusal: null }, logprobs: null, finish_reason: chosen.finishReason ?? 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: chosen.usage?.total_tokens ?? promptTokens + completionTokens },
      },
      chosen.headers,
    );
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: { message: `stub failure: ${String(error)}`, type: 'server_error' } });
    });
  });
  // Clients keep connections alive; a server that closes idle ones first makes a reused socket fail.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.requestTimeout = 0;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlightSeen() {
      return maxInFlightSeen;
    },
    setBehaviour(next) {
      behaviour = next;
    },
    reset() {
      requests.length = 0;
      maxInFlightSeen = inFlight;
    },
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(requests)) {
        if (Date.now() > deadline) throw new Error(`OpenAI stub: condition not met within ${timeoutMs} ms (${requests.length} requests seen)`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** A behaviour that plays `replies` to the first requests in order, then `then` (default answer). */
export function stubSequence(replies: readonly (StubReply | undefined)[], then?: StubBehaviour): StubBehaviour {
  let next = 0;
  return (request) => (next < replies.length ? replies[next++] : then?.(request));
}

/**
 * A behaviour that answers `status` (default 503) to every request for `forMs` from its first
 * request (or from `startAt`), then hands over to `then`: a provider that is down for a while.
 */
export function stubOutage(options: { forMs: number; status?: number; startAt?: number; retryAfterSeconds?: number }, then?: StubBehaviour): StubBehaviour {
  let start = options.startAt;
  return (request) => {
    start ??= request.arrivedAt;
    if (request.arrivedAt < start + options.forMs) return stubReply.error(options.status ?? 503, { message: 'The stub is down (outage)', retryAfterSeconds: options.retryAfterSeconds });
    return then?.(request);
  };
}

function finish(entry: StubRequest, res: ServerResponse, done: () => void, status: number, outcome: StubRequest['outcome'], body: unknown, headers?: Record<string, string>): void {
  writeRaw(entry, res, done, status, JSON.stringify(body), 'application/json', headers, outcome);
}

/** Sends the response and stops counting the request as in flight at once (not on 'close', later). */
function writeRaw(
  entry: StubRequest,
  res: ServerResponse,
  done: () => void,
  status: number,
  body: string,
  contentType: string,
  headers?: Readonly<Record<string, string>>,
  outcome: StubRequest['outcome'] = 'raw',
): void {
  done();
  entry.status = status;
  entry.outcome = outcome;
  entry.respondedAt = Date.now();
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'x-request-id': `req_stub_${entry.index}`, ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function safeParse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function flattenContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
  return '';
}

function latency(spec: StubLatency | undefined): number {
  if (spec === undefined) return 0;
  if (typeof spec === 'number') return spec;
  return spec.min + Math.random() * (spec.max - spec.min);
}

function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
