import { Migration } from '@mikro-orm/migrations';

/**
 * Read models of testsets, projected from the global log by the `testsets-read-models` processor
 * (runs service). Disposable: drop them and delete that checkpoint to rebuild them from events.
 */
export class Migration20261126Testsets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table rm_testsets (
        id               text primary key,
        project_id       text not null,
        name             text not null,
        description      text not null,
        json_schema      jsonb not null,
        field_mapping    jsonb not null,
        schema_revision  int not null,
        num_testcases    int not null default 0,
        -- Every top-level field name seen in its testcases, in order of first appearance: the
        -- columns of a CSV export.
        fields           jsonb not null default '[]',
        stream_version   int not null,          -- testset stream version reflected (read-your-writes)
        created_at       timestamptz not null,
        updated_at       timestamptz not null
      );
      create index rm_testsets_project on rm_testsets (project_id, created_at, id);

      -- seq: global position of the TestcaseAdded event, so testcases list in the order they came.
      -- json_text: the testcase's JSON object as given (text, not jsonb: field order is kept).
      -- validation_errors were computed against schema_revision; reads recheck older ones.
      create table rm_testcases (
        id                 text primary key,
        testset_id         text not null,
        seq                bigint not null,
        json_text          text not null,
        schema_revision    int not null,
        validation_errors  jsonb not null,
        created_at         timestamptz not null,
        updated_at         timestamptz not null
      );
      create index rm_testcases_testset_seq on rm_testcases (testset_id, seq);
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists rm_testcases, rm_testsets;');
  }
}

export const testsetMigrations = [{ name: 'Migration20261126Testsets', class: Migration20261126Testsets }];
