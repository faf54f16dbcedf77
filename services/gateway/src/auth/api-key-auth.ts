import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessApi, AuthenticatedKey } from '@assay/access';
import { AssayError } from '@assay/contracts';
import {
  CanActivate,
  ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  NestMiddleware,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';
import { GATEWAY_DEPS, GATEWAY_LOGGER, type GatewayDeps } from '../deps';
import { errorBody } from '../errors';
import { sendJson } from '../http';
import type { GatewayLogger } from '../logger';
import type { Principal } from './access';
import { IS_PUBLIC } from './public';

export { Public } from './public';

/**
 * Authentication: who is calling, from the API key.
 *
 * - HTTP, `/graphql` and every controller route: `Authorization: Bearer <key>`. Missing, malformed,
 *   unknown or revoked → 401 with a GraphQL-shaped body `{errors:[{message, extensions:{code:
 *   "UNAUTHENTICATED"}}]}` and `WWW-Authenticate: Bearer`, before anything else runs: a request
 *   with a body is checked before the body is read (authenticateBeforeBody); then the GraphQL
 *   endpoint is checked by GraphqlAuthMiddleware, controllers by ApiKeyGuard (global: a new
 *   controller is protected unless a route says @Public(), as /healthz and /readyz do).
 * - graphql-ws: the `connection_init` payload, `{ "authorization": "Bearer <key>" }` or
 *   `{ "apiKey": "<key>" }`. Refused → the socket closes with 4401 and the reason
 *   `UNAUTHENTICATED: …`. The key is checked again for every subscribe, and open sockets every
 *   few seconds (WebSocketSessions): a revoked key's sockets are closed.
 *
 * Checks go through AccessApi.authenticate, which reads the key's stream with a short cache
 * (2 s): that is how long another replica may still accept a key after its revocation.
 */

export const UNAUTHENTICATED_MESSAGES = {
  missing: 'Send an API key: `Authorization: Bearer <key>` (over graphql-ws: `{ "authorization": "Bearer <key>" }` in the connection_init payload).',
  scheme: 'The Authorization header must use the Bearer scheme: `Authorization: Bearer <key>`.',
  malformed: 'The API key is malformed: Assay keys look like assay_<id>_<secret>. Check that it was copied whole.',
  invalid: 'The API key is not valid: it was revoked or never existed. Ask an admin for a new key.',
} as const;

export type AuthFailure = keyof typeof UNAUTHENTICATED_MESSAGES;

/** The same, as WebSocket close reasons (at most 123 bytes). */
export const WS_CLOSE_REASONS: Record<AuthFailure, string> = {
  missing: 'UNAUTHENTICATED: send {"authorization": "Bearer <key>"} in the connection_init payload',
  scheme: 'UNAUTHENTICATED: authorization must be "Bearer <key>"',
  malformed: 'UNAUTHENTICATED: the API key is malformed (Assay keys look like assay_<id>_<secret>)',
  invalid: 'UNAUTHENTICATED: the API key is not valid: it was revoked or never existed',
};
export type AuthOutcome = { ok: true; principal: Principal; key: string } | { ok: false; failure: AuthFailure };

export function toPrincipal(key: AuthenticatedKey): Principal {
  return key.projectId === null ? { kind: 'admin', keyId: key.keyId } : { kind: 'project', keyId: key.keyId, projectId: key.projectId };
}

/** The key from an `Authorization` header value (`Bearer <key>`, scheme case-insensitive). */
export function bearerKey(header: string | string[] | undefined): { key: string } | { failure: AuthFailure } {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !value.trim()) return { failure: 'missing' };
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(value);
  if (!match || match[1].toLowerCase() !== 'bearer') return { failure: 'scheme' };
  return { key: match[2] };
}

export async function authenticateKey(access: AccessApi, key: string): Promise<AuthOutcome> {
  const result = await access.authenticate(key);
  return result.ok ? { ok: true, principal: toPrincipal(result.key), key } : { ok: false, failure: result.reason };
}

export async function authenticateHeader(access: AccessApi, header: string | string[] | undefined): Promise<AuthOutcome> {
  const bearer = bearerKey(header);
  if ('failure' in bearer) return { ok: false, failure: bearer.failure };
  return authenticateKey(access, bearer.key);
}

export function unauthenticated(failure: AuthFailure): AssayError {
  return new AssayError('UNAUTHENTICATED', UNAUTHENTICATED_MESSAGES[failure]);
}

type AuthenticatedRequest = IncomingMessage & { principal?: Principal };

function rejectHttp(res: ServerResponse, req: IncomingMessage, failure: AuthFailure, logger: GatewayLogger): void {
  logger.info({ method: req.method, url: req.url?.split('?')[0], status: 401, code: 'UNAUTHENTICATED', failure }, 'http request rejected');
  res.setHeader('WWW-Authenticate', 'Bearer realm="assay"');
  sendJson(res, 401, errorBody('UNAUTHENTICATED', UNAUTHENTICATED_MESSAGES[failure]));
}

/** `/graphql` over HTTP: no operation runs (introspection included) without a valid key. */
@Injectable()
export class GraphqlAuthMiddleware implements NestMiddleware {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(GATEWAY_LOGGER) private readonly logger: GatewayLogger,
  ) {}

  use(req: AuthenticatedRequest, res: ServerResponse, next: (error?: unknown) => void): void {
    if (req.principal) return next(); // authenticated before its body was read (authenticateBeforeBody)
    authenticateRequest(this.deps.access, this.logger, req, res, next);
  }
}

/**
 * Express middleware installed ahead of the body parser: a request that carries a body (anything
 * but GET, HEAD and OPTIONS) is authenticated before a byte of it is read, so a caller without a
 * valid key cannot make the gateway read and parse up to 16 MB. Every such route needs a key (the
 * open ones, /healthz and /readyz, are GETs); the principal is kept for the middleware and guard.
 */
export function authenticateBeforeBody(access: AccessApi, logger: GatewayLogger) {
  return (req: AuthenticatedRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    authenticateRequest(access, logger, req, res, next);
  };
}

/** Sets `req.principal` from the Authorization header and goes on, or answers 401. */
function authenticateRequest(access: AccessApi, logger: GatewayLogger, req: AuthenticatedRequest, res: ServerResponse, next: (error?: unknown) => void): void {
  authenticateHeader(access, req.headers.authorization)
    .then((outcome) => {
      if (!outcome.ok) return rejectHttp(res, req, outcome.failure, logger);
      req.principal = outcome.principal;
      next();
    })
    .catch(next);
}

/**
 * Global guard (APP_GUARD in GatewayModule): every controller route needs a valid key unless it is
 * @Public(); the principal lands on `req.principal` (read it with @CurrentPrincipal()). For
 * GraphQL resolvers it checks that the middleware or the socket established a principal.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(GATEWAY_LOGGER) private readonly logger: GatewayLogger,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    if (context.getType<GqlContextType>() === 'graphql') {
      const gql = GqlExecutionContext.create(context).getContext<{ principal?: Principal; req?: { principal?: Principal } }>();
      if (!(gql.principal ?? gql.req?.principal)) throw unauthenticated('missing');
      return true;
    }
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (req.principal) return true;
    const outcome = await authenticateHeader(this.deps.access, req.headers.authorization);
    if (outcome.ok) {
      req.principal = outcome.principal;
      return true;
    }
    const res = context.switchToHttp().getResponse<ServerResponse>();
    this.logger.info({ method: req.method, url: req.url?.split('?')[0], status: 401, code: 'UNAUTHENTICATED', failure: outcome.failure }, 'http request rejected');
    res.setHeader('WWW-Authenticate', 'Bearer realm="assay"');
    throw new HttpException(errorBody('UNAUTHENTICATED', UNAUTHENTICATED_MESSAGES[outcome.failure]), 401);
  }
}

/** graphql-ws close code for a refused key (graphql-ws's own `Unauthorized`). */
export const WS_UNAUTHENTICATED = 4401;

/** The key in a connection_init payload: `authorization` (`Bearer <key>`, any case of the name) or `apiKey`. */
export function connectionKey(params: Record<string, unknown> | undefined): { key: string } | { failure: AuthFailure } {
  if (!params) return { failure: 'missing' };
  const apiKey = params.apiKey ?? params.api_key;
  if (typeof apiKey === 'string' && apiKey.trim()) return { key: apiKey.trim() };
  const header = Object.entries(params).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
  return bearerKey(typeof header === 'string' ? header : undefined);
}

interface Socket {
  close(code: number, reason: string): void;
  readonly readyState: number;
}

/** What the gateway keeps per graphql-ws connection: graphql-ws's `ctx.extra`, plus ours. */
export interface WebSocketExtra {
  readonly socket: Socket;
  principal?: Principal;
  apiKey?: string;
}

/** graphql-ws's per-connection context (its `extra` is what graphql-ws/use/ws puts there: `{socket, request}`). */
interface WsContext {
  readonly connectionParams?: Readonly<Record<string, unknown>>;
  readonly extra: unknown;
}

const extraOf = (ctx: WsContext) => ctx.extra as WebSocketExtra;

/**
 * The graphql-ws side: authenticate at connection_init, again at every subscribe, and sweep open
 * sockets every `checkIntervalMs` (default 2 s) so that a revoked key's live subscriptions end:
 * on this replica within the sweep interval, on others within it plus the key cache's 2 s.
 */
export class WebSocketSessions {
  private readonly open = new Set<WebSocketExtra>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly access: () => AccessApi,
    private readonly logger: GatewayLogger,
    private readonly checkIntervalMs = 2_000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), this.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.open.clear();
  }

  /** graphql-ws hooks (merged into the server options). */
  hooks() {
    return {
      onConnect: async (ctx: WsContext): Promise<boolean> => {
        const found = connectionKey(ctx.connectionParams as Record<string, unknown> | undefined);
        const outcome: AuthOutcome = 'failure' in found ? { ok: false, failure: found.failure } : await authenticateKey(this.access(), found.key);
        const extra = extraOf(ctx);
        if (!outcome.ok) {
          this.refuse(extra, outcome.failure);
          return false;
        }
        extra.principal = outcome.principal;
        extra.apiKey = outcome.key;
        this.open.add(extra);
        return true;
      },
      onSubscribe: async (ctx: WsContext): Promise<readonly GraphQLError[] | void> => {
        if (await this.stillValid(extraOf(ctx))) return;
        this.refuse(extraOf(ctx), 'invalid');
        return [new GraphQLError(UNAUTHENTICATED_MESSAGES.invalid, { extensions: { code: 'UNAUTHENTICATED' } })];
      },
      onClose: (ctx: WsContext): void => {
        this.open.delete(extraOf(ctx));
      },
    };
  }

  /** The GraphQL context of an operation over the socket. */
  contextOf(ctx: WsContext): { principal?: Principal } {
    return { principal: extraOf(ctx).principal };
  }

  private async stillValid(extra: WebSocketExtra): Promise<boolean> {
    if (!extra.apiKey) return false;
    try {
      return (await this.access().authenticate(extra.apiKey)).ok;
    } catch (error) {
      // The database is unreachable: keep the socket (its key was valid); the next sweep decides.
      this.logger.warn({ error: String(error) }, 'could not re-check a websocket API key');
      return true;
    }
  }

  private refuse(extra: WebSocketExtra, failure: AuthFailure): void {
    this.open.delete(extra);
    extra.principal = undefined;
    this.logger.info({ transport: 'ws', code: 'UNAUTHENTICATED', failure }, 'websocket refused');
    // graphql-ws closes with 4403 "Forbidden" after onConnect returns false; closing first makes
    // the client see why (a close reason is limited to 123 bytes).
    extra.socket.close(WS_UNAUTHENTICATED, WS_CLOSE_REASONS[failure]);
  }

  private async sweep(): Promise<void> {
    for (const extra of [...this.open]) {
      if (!(await this.stillValid(extra))) this.refuse(extra, 'invalid');
    }
  }
}
