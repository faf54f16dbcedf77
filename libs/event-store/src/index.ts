export * from './types';
export { PostgresEventStore } from './postgres-event-store';
export { VersionConflictError, DuplicateEventError } from './errors';
export { eventStoreMigrations } from './schema/migrations';
export { startLogProcessor } from './log-processor';
export type { LogProcessor, LogProcessorOptions } from './log-processor';
export type { ReadStreamOptions } from './read-stream';
export { comparePositions } from './read-all';
export { EVENTS_CHANNEL } from './append';
