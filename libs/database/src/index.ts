export type { Sql } from './sql';
export { Database } from './database';
export type { DatabaseOptions } from './database';
export type { MigrationObject } from './migration-object';
export type { NotificationHandler } from './notification-listener';
export { advisoryLockKey, AdvisoryLockNamespace } from './advisory-lock';
export type { AdvisoryLockKey } from './advisory-lock';
export { queryTypes } from './pg-types';
