import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import { MAX_REQUEST_BYTES } from '@assay/contracts';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { GATEWAY_DEPS, GATEWAY_LOGGER, type GatewayDeps } from './deps';
import { errorBody } from './errors';
import type { GatewayLogger } from './logger';
import { Public } from './auth/public';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function describeError(error: unknown): unknown {
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error);
}

const STREAMED_UPLOADS = [/^\/testsets\/[^/?#]+\/import(?:[?#]|$)/];

function isStreamedUpload(req: IncomingMessage): boolean {
  return STREAMED_UPLOADS.some((pattern) => pattern.test(req.url ?? ''));
}

/** The media type of the request body, as body-parser's default `type: 'application/json'` compares it. */
function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** The error body-parser raises (http-errors): `type` tells what went wrong. */
interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
  readonly statusCode?: number;
  readonly message?: string;
  readonly expose?: boolean;
}

/**
 * Installs the JSON body parser with the gateway's limit (Nest's default is 100 kB; the app must be
 * created with `bodyParser: false`) and turns its failures into GraphQL-shaped error responses:
 * - body over MAX_REQUEST_BYTES → 413 PAYLOAD_TOO_LARGE
 * - malformed JSON → 400 INVALID_JSON
 * - anything else it rejects (unsupported charset, aborted upload…) → its status, BAD_USER_INPUT.
 * Call before `app.init()` (or `listen`) so that both run ahead of the GraphQL middleware, which
 * then reads the parsed `req.body`.
 */
export function installBodyParser(app: NestExpressApplication, logger: GatewayLogger, limitBytes = MAX_REQUEST_BYTES): void {
  // File uploads (POST /testsets/:id/import) are streamed by their controller, whatever their
  // Content-Type: the JSON parser must not read them into memory first.
  app.useBodyParser('json', { limit: limitBytes, type: (req: IncomingMessage) => !isStreamedUpload(req) && mediaType(req) === 'application/json' });
  app.use((err: unknown, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
    const e = (err ?? {}) as BodyParserError;
    if (!e.type || res.headersSent) {
      next(err);
      return;
    }
    const mb = Math.round((limitBytes / (1024 * 1024)) * 10) / 10;
    let status = e.status ?? e.statusCode ?? 400;
    let code = 'BAD_USER_INPUT';
    let message = `The request body was rejected: ${e.expose ? e.message : 'it could not be read'}.`;
    if (e.type === 'entity.too.large') {
      status = 413;
      code = 'PAYLOAD_TOO_LARGE';
      message = `The request body is larger than the ${mb} MB limit. Send fewer records per call (at most 1000) or smaller values.`;
    } else if (e.type === 'entity.parse.failed') {
      status = 400;
      code = 'INVALID_JSON';
      message = `The request body is not valid JSON (${e.message}). Send a JSON object such as {"query": "...", "variables": {...}}.`;
    }
    logger.info({ method: req.method, url: req.url, status, code }, 'http request rejected');
    sendJson(res, status, errorBody(code, message));
  });
}

/** GET /healthz: the process is alive. GET /readyz: its dependencies answer (503 when not, or after 5 s). Open: no API key. */
@Public()
@Controller()
export class HealthController {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(GATEWAY_LOGGER) private readonly logger: GatewayLogger,
  ) {}

  @Get('healthz')
  healthz(@Res() res: ServerResponse): void {
    sendJson(res, 200, { status: 'ok' });
  }

  @Get('readyz')
  async readyz(@Res() res: ServerResponse): Promise<void> {
    const check = this.deps.readiness;
    let ready = true;
    if (check) {
      let timer: NodeJS.Timeout | undefined;
      try {
        ready = await Promise.race([
          check(),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), 5_000);
          }),
        ]);
      } catch (error) {
        this.logger.warn({ error: describeError(error) }, 'readiness check failed');
        ready = false;
      } finally {
        clearTimeout(timer);
      }
    }
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
  }
}
