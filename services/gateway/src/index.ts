export { createGatewayApp } from './create-gateway-app';
export { GatewayModule, GRAPHQL_PATH } from './gateway.module';
export { installBodyParser } from './http';
export type { GatewayDeps } from './deps';
export type { GatewayLogger } from './logger';
export { GATEWAY_TYPE_DEFS } from './schema';
export { RunUpdatesHub } from './run-updates';
