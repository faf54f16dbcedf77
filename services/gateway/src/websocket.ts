import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { MAX_RECORDS_PER_CALL } from '@assay/contracts';
import type { GraphQLSchema } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { GatewayLogger } from './logger';

/** RFC 6455 "Message Too Big": what ws closes a socket with when a message is over its maxPayload. */
export const WS_MESSAGE_TOO_BIG = 1009;

/** The close reason a client sees for a message over the limit (a close reason is at most 123 bytes). */
export function payloadTooLargeReason(limitBytes: number): string {
  const mb = Math.round((limitBytes / (1024 * 1024)) * 10) / 10;
  // ASCII: at most 123 characters (ws throws on a longer reason).
  return `PAYLOAD_TOO_LARGE: message over the ${mb} MB limit; send fewer records per call (at most ${MAX_RECORDS_PER_CALL}) or smaller values`.slice(0, 123);
}

/** graphql-ws server options, all but the schema (known once GraphQLModule built it). */
export type GraphqlWsOptions = Omit<ServerOptions<Record<string, unknown> | undefined, Extra>, 'schema'>;

/**
 * The `ws` socket class of the gateway's server. ws reads at most `maxPayload` bytes of a message:
 * a longer one is refused from its frame header, before it is buffered, and ws closes the socket
 * with a bare 1009 and then emits the error on the socket. Here the close carries a reason that
 * says what to do, and the error is logged as the client's (graphql-ws would print it with
 * console.error as an internal error of the server).
 */
function limitedWebSocket(limitBytes: number, logger: GatewayLogger): typeof WebSocket {
  const reason = payloadTooLargeReason(limitBytes);
  return class LimitedWebSocket extends WebSocket {
    override close(code?: number, data?: string | Buffer): void {
      super.close(code, code === WS_MESSAGE_TOO_BIG && data === undefined ? reason : data);
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'error' && (args[0] as { code?: unknown } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        logger.info({ transport: 'ws', code: 'PAYLOAD_TOO_LARGE', limitBytes }, 'websocket message rejected');
        return true;
      }
      return super.emit(event, ...args);
    }
  };
}

/**
 * GraphQL over WebSocket (graphql-ws) on the HTTP server's upgrades to `path`. The gateway runs its
 * own instead of @nestjs/graphql's, whose ws server cannot be given a `maxPayload`: here messages
 * get the same byte limit as HTTP request bodies (`maxPayloadBytes`, MAX_REQUEST_BYTES), and a
 * message over it closes the socket with 1009 and a `PAYLOAD_TOO_LARGE: …` reason. graphql-ws
 * clients treat 1009 as fatal: the subscribe sink gets the close event, without retrying.
 */
export class GraphqlWebSocketServer {
  private running: { httpServer: HttpServer; onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void; dispose: () => void | Promise<void> } | undefined;

  constructor(
    private readonly settings: { path: string; maxPayloadBytes: number; logger: GatewayLogger; options: GraphqlWsOptions },
  ) {}

  start(httpServer: HttpServer, schema: GraphQLSchema): void {
    if (this.running) return;
    const { path, maxPayloadBytes, logger, options } = this.settings;
    const wss = new WebSocketServer({ noServer: true, path, maxPayload: maxPayloadBytes, WebSocket: limitedWebSocket(maxPayloadBytes, logger) });
    const { dispose } = useServer({ ...options, schema }, wss);
    // As @nestjs/graphql did: upgrades below the path are ours (ws answers 400 to another path).
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!req.url?.startsWith(path)) return;
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    };
    httpServer.on('upgrade', onUpgrade);
    this.running = { httpServer, onUpgrade, dispose };
  }

  /** Stops taking upgrades and closes open sockets (1001 "Going away": clients reconnect elsewhere). */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    running.httpServer.off('upgrade', running.onUpgrade);
    await running.dispose();
  }
}
