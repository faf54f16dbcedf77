import { Migration } from '@mikro-orm/migrations';

/**
 * The API key listing, projected from ApiKeyCreated / ApiKeyRevoked by the access projector.
 * Disposable like every read model (drop it, reset the `access-read-models` checkpoint). It holds
 * no hash: authentication reads the keys' streams, never this table.
 */
export class Migration20261126AccessReadModels extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table rm_api_keys (
        id                 text primary key,
        project_id         text,                 -- null: an admin key
        name               text not null,
        prefix             text not null,
        created_by_key_id  text,
        created_at         timestamptz not null,
        revoked_at         timestamptz,
        revoked_by_key_id  text
      );
      create index rm_api_keys_project on rm_api_keys (project_id, created_at, id);
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists rm_api_keys;');
  }
}

export const accessMigrations = [{ name: 'Migration20261126AccessReadModels', class: Migration20261126AccessReadModels }];
