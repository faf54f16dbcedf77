export * from './types';
export * from './commands/testset-commands';
export * from './read-models/testset-migrations';
export * from './read-models/testset-projector';
export * from './read-models/testset-projections';
export * from './read-models/testset-queries';
export * from './import-export/parse-import';
export * from './import-export/export-rows';
