import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Inject, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { API_MODULES } from './api-modules';
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
export class GatewayModule implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(RunUpdatesHub) private readonly hub: RunUpdatesHub) {}

  static forRoot(deps: GatewayDeps): DynamicModule {
    const logger = deps.logger ?? createDefaultLogger();
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
          plugins: [errorLoggingPlugin(logger)],
          subscriptions: {
            'graphql-ws': { path: GRAPHQL_PATH, ...webSocketErrorHooks(logger) },
          },
        }),
      ],
      controllers: [...API_MODULES.flatMap((api) => api.controllers ?? []), HealthController],
      providers: [
        { provide: GATEWAY_DEPS, useValue: deps },
        { provide: GATEWAY_LOGGER, useValue: logger },
        { provide: RunUpdatesHub, useFactory: () => new RunUpdatesHub(deps.bus, logger) },
        ...API_MODULES.flatMap((api) => api.resolvers),
      ],
      exports: [RunUpdatesHub],
    };
  }

  onModuleInit(): void {
    this.hub.start();
  }

  onModuleDestroy(): void {
    this.hub.stop();
  }
}
