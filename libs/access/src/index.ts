export * from './types';
export * from './api-key-format';
export * from './api-key-authenticator';
export * from './api-keys';
export * from './init-keys';
export * from './read-models/access-migrations';
export * from './read-models/access-projections';
