/**
 * A migration as MikroORM's Migrator takes it in `migrationsList`: a name (stored in
 * `mikro_orm_migrations` once applied, so never rename one) and a class extending
 * `Migration` from @mikro-orm/migrations. Each library exports an array of these for its own
 * tables; a service concatenates the arrays of the libraries it uses and passes them to
 * `Database.connect`. No files are globbed and no schema snapshots are written.
 */
export type { MigrationObject } from '@mikro-orm/core';
