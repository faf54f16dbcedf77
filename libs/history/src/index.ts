export * from './types';
export * from './history-queries';
