import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import {
  Inject,
  Module,
  RequestMethod,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { GraphQLModule, GraphQLSchemaHost } from '@nestjs/graphql';
import { MAX_REQUEST_BYTES } from '@assay/contracts';
import { GraphQLError, specifiedRules, validate, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { API_MODULES } from './api-modules';
import { ApiKeyGuard, GraphqlAuthMiddleware, WebSocketSessions } from './auth/api-key-auth';
import { GATEWAY_DEPS, GATEWAY_LOGGER, type GatewayDeps } from './deps';
import { formatClientError, logOperationErrors } from './errors';
import { HealthController } from './http';
import { createDefaultLogger, type GatewayLogger } from './logger';
import { RunUpdatesHub } from './run-updates';
import { DateTimeScalar, JsonLiteralPlaces, JSONScalar } from './scalars';
import { GraphqlWebSocketServer } from './websocket';

export const GRAPHQL_PATH = '/graphql';

/** Logs every operation that ends with errors (one JSON line); successful operations are not logged. */
function errorLoggingPlugin(logger: GatewayLogger): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors(ctx) {
          logOperationErrors(logger, ctx.errors, { transport: 'http', operationName: ctx.operationName ?? ctx.request.operationName });
        },
      };
    },
  };
}

/**
 * graphql-ws does not run Apollo's formatError: apply the same policy to what goes down the socket.
 * Errors from parsing/validation (onError) carry no code there, so give them Apollo's.
 */
function webSocketErrorHooks(logger: GatewayLogger) {
  const format = (error: GraphQLError, fallbackCode?: string): GraphQLFormattedError => {
    const json = error.toJSON();
    const formatted = json.extensions?.code || !fallbackCode ? json : { ...json, extensions: { ...json.extensions, code: fallbackCode } };
    return formatClientError(formatted, error, logger);
  };
  return {
    onNext: (_ctx: unknown, _id: string, payload: { operationName?: string | null }, _args: unknown, result: ExecutionResult): FormattedExecutionResult | void => {
      if (!result.errors?.length) return;
      logOperationErrors(logger, result.errors, { transport: 'ws', operationName: payload.operationName });
      return { ...result, errors: result.errors.map((e) => format(e, 'INTERNAL_SERVER_ERROR')) };
    },
    onError: (_ctx: unknown, _id: string, payload: { operationName?: string | null }, errors: readonly GraphQLError[]): GraphQLFormattedError[] => {
      logOperationErrors(logger, errors, { transport: 'ws', operationName: payload.operationName });
      return errors.map((e) => format(e, e.message.startsWith('Syntax Error') ? 'GRAPHQL_PARSE_FAILED' : 'GRAPHQL_VALIDATION_FAILED'));
    },
  };
}

/**
 * The public API: GraphQL over HTTP and WebSocket (graphql-ws) at /graphql, the CSV export and the
 * health endpoints. A dynamic module so that the same code runs as its own service and inside the
 * all-in-one embedded process; it needs the JSON body parser from `installBodyParser` (see
 * `createGatewayApp`, which does all of that). Both transports take requests of at most
 * MAX_REQUEST_BYTES: the body parser's limit, and the WebSocket server's (GraphqlWebSocketServer).
 */
@Module({})
export class GatewayModule implements OnModuleInit, OnModuleDestroy, NestModule {
  constructor(
    @Inject(RunUpdatesHub) private readonly hub: RunUpdatesHub,
    @Inject(WebSocketSessions) private readonly sessions: WebSocketSessions,
    @Inject(GraphqlWebSocketServer) private readonly webSocket: GraphqlWebSocketServer,
    @Inject(GraphQLSchemaHost) private readonly schemaHost: GraphQLSchemaHost,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  static forRoot(deps: GatewayDeps): DynamicModule {
    const logger = deps.logger ?? createDefaultLogger();
    // API keys: /graphql over HTTP (GraphqlAuthMiddleware), controllers (ApiKeyGuard, global),
    // graphql-ws (the sessions' hooks). See auth/api-key-auth.ts.
    const sessions = new WebSocketSessions(() => deps.access, logger);
    const webSocket = new GraphqlWebSocketServer({
      path: GRAPHQL_PATH,
      maxPayloadBytes: MAX_REQUEST_BYTES,
      logger,
      options: {
        context: (ctx) => sessions.contextOf(ctx),
        validate: (schema, document) => validate(schema, document, [...specifiedRules, JsonLiteralPlaces]),
        ...webSocketErrorHooks(logger),
        ...sessions.hooks(),
      },
    });
    return {
      module: GatewayModule,
      imports: [
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          path: GRAPHQL_PATH,
          typeDefs: API_MODULES.map((api) => api.typeDefs),
          resolvers: { JSON: JSONScalar, DateTime: DateTimeScalar },
          include: [GatewayModule],
          playground: false,
          introspection: true,
          includeStacktraceInErrorResponses: false,
          formatError: (formatted, error) => formatClientError(formatted, error, logger),
          // HTTP: the principal the middleware established (graphql-ws: GraphqlWebSocketServer's context).
          context: (arg: { req: { principal?: unknown } }) => ({ req: arg.req, principal: arg.req.principal }),
          plugins: [errorLoggingPlugin(logger)],
          // Names the argument a bad JSON literal is in (graphql-ws: the same in its `validate`).
          validationRules: [JsonLiteralPlaces],
          // No `subscriptions`: GraphqlWebSocketServer serves graphql-ws, with the request size limit.
        }),
      ],
      controllers: [...API_MODULES.flatMap((api) => api.controllers ?? []), HealthController],
      providers: [
        { provide: GATEWAY_DEPS, useValue: deps },
        { provide: GATEWAY_LOGGER, useValue: logger },
        { provide: RunUpdatesHub, useFactory: () => new RunUpdatesHub(deps.bus, logger, { readRuns: (ids) => deps.queries.getRuns(ids) }) },
        { provide: WebSocketSessions, useValue: sessions },
        { provide: GraphqlWebSocketServer, useValue: webSocket },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        GraphqlAuthMiddleware,
        ...API_MODULES.flatMap((api) => api.resolvers),
      ],
      exports: [RunUpdatesHub],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Apollo is mounted with app.use(GRAPHQL_PATH), which also serves every path below it
    // (/graphql/anything): guard those too.
    consumer
      .apply(GraphqlAuthMiddleware)
      .forRoutes({ path: GRAPHQL_PATH, method: RequestMethod.ALL }, { path: `${GRAPHQL_PATH}/*rest`, method: RequestMethod.ALL });
  }

  onModuleInit(): void {
    this.hub.start();
    this.sessions.start();
    // GraphQLModule (imported, so initialised first) has built the schema by now.
    const httpServer = this.adapterHost.httpAdapter?.getHttpServer();
    if (httpServer) this.webSocket.start(httpServer, this.schemaHost.schema);
  }

  async onModuleDestroy(): Promise<void> {
    this.hub.stop();
    this.sessions.stop();
    await this.webSocket.stop();
  }
}
