export * from './service-env';
export * from './shutdown';
export * from './health-server';
export * from './consumer-env';
export * from './nest-logger-bridge';
export * from './startup-failure';
export * from './ports';
