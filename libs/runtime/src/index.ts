export * from './service-env';
export * from './shutdown';
export * from './health-server';
