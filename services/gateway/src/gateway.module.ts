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
import { APP_GUARD } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { API_MODULES } from './api-modules';
import { ApiKeyGuard, GraphqlAuthMiddleware, WebSocketSessions } from './auth/api-key-auth';
import { GATEWAY_DEPS, GATEWAY_LOGGER, type GatewayDeps } from './deps';
import { formatClientError, logOperationErrors } from './errors';
import { HealthController } from './http';
import { createDefaultLogger, type GatewayLogger } from './logger';
import { RunUpdatesHub } from './run-updates';
import { DateTimeScalar, JSONScalar } from './scalars';

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
 * `createGatewayApp`, which does all of that).
 */
@Module({})
export class GatewayModule implements OnModuleInit, OnModuleDestroy, NestModule {
  constructor(
    @Inject(RunUpdatesHub) private readonly hub: RunUpdatesHub,
    @Inject(WebSocketSessions) private readonly sessions: WebSocketSessions,
  ) {}

  static forRoot(deps: GatewayDeps): DynamicModule {
    const logger = deps.logger ?? createDefaultLogger();
    // API keys: /graphql over HTTP (GraphqlAuthMiddleware), controllers (ApiKeyGuard, global),
    // graphql-ws (the sessions' hooks). See auth/api-key-auth.ts.
    const sessions = new WebSocketSessions(() => deps.access, logger);
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
          // HTTP: the principal the middleware established; graphql-ws: the socket's.
          context: (arg: { req?: { principal?: unknown } } & Parameters<WebSocketSessions['contextOf']>[0]) =>
            arg.req ? { req: arg.req, principal: arg.req.principal } : sessions.contextOf(arg),
          plugins: [errorLoggingPlugin(logger)],
          subscriptions: {
            'graphql-ws': { path: GRAPHQL_PATH, ...webSocketErrorHooks(logger), ...sessions.hooks() },
          },
        }),
      ],
      controllers: [...API_MODULES.flatMap((api) => api.controllers ?? []), HealthController],
      providers: [
        { provide: GATEWAY_DEPS, useValue: deps },
        { provide: GATEWAY_LOGGER, useValue: logger },
        { provide: RunUpdatesHub, useFactory: () => new RunUpdatesHub(deps.bus, logger) },
        { provide: WebSocketSessions, useValue: sessions },
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
  }

  onModuleDestroy(): void {
    this.hub.stop();
    this.sessions.stop();
  }
}
