export * from './decider/decider';
export * from './project/project';
export * from './metric/metric';
export * from './metric/passing';
export * from './metric/heuristic-config';
export * from './run/run';
export * from './record-scoring/record-scoring';
export * from './status/run-status';
