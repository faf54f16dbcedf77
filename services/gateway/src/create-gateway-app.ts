import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { GatewayDeps } from './deps';
import { GatewayModule } from './gateway.module';
import { authenticateBeforeBody } from './auth/api-key-auth';
import { installBodyParser } from './http';
import { NestLoggerBridge } from '@assay/runtime';
import { createDefaultLogger } from './logger';

/**
 * Builds the gateway as a Nest application, initialised and ready to `listen(port)`:
 * Nest's own body parser (100 kB) is off and ours (MAX_REQUEST_BYTES, GraphQL-shaped 413/400
 * errors) runs ahead of the GraphQL middleware, after the API key was checked; Nest's logs go to the gateway's JSON logger.
 * Shut down with `app.close()`: it completes open subscriptions and drops the bus subscription.
 */
export async function createGatewayApp(deps: GatewayDeps): Promise<INestApplication> {
  const logger = deps.logger ?? createDefaultLogger();
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot({ ...deps, logger }), {
    bodyParser: false,
    logger: new NestLoggerBridge(logger),
    abortOnError: false,
  });
  app.disable('x-powered-by');
  app.use(authenticateBeforeBody(deps.access, logger));
  installBodyParser(app, logger);
  await app.init();
  return app;
}
