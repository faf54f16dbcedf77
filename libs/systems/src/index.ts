export * from './types';
export * from './system-commands';
export * from './system-read-models';
