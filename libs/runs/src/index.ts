export * from './types';
export * from './commands/run-commands';
export * from './commands/record-outcomes';
export * from './read-models/run-queries';
export * from './read-models/run-projector';
export * from './read-models/read-model-migrations';
export * from './read-models/run-projections';
export * from './runs-backend';
