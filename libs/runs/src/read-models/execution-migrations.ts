import { Migration } from '@mikro-orm/migrations';

/**
 * Runs the server executes (issue 4): who started a run and its trials, records' trial and system
 * call, and executions that failed for good (with their reason). Projected by the runs projector.
 */
export class Migration20261127RunExecution extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table rm_runs
        add column source text not null default 'API',
        add column trials int,
        add column num_execution_failures int not null default 0;
      alter table rm_records
        add column trial int,
        add column execution jsonb;
      create table rm_execution_failures (
        record_id    text primary key,
        run_id       text not null,
        testcase_id  text,
        trial        int not null,
        code         text not null,
        reason       text not null,
        attempts     int not null,
        created_at   timestamptz not null
      );
      create index rm_execution_failures_run on rm_execution_failures (run_id, created_at, record_id);
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists rm_execution_failures;
      alter table rm_records drop column if exists trial, drop column if exists execution;
      alter table rm_runs drop column if exists source, drop column if exists trials, drop column if exists num_execution_failures;
    `);
  }
}

export const executionMigrations = [{ name: 'Migration20261127RunExecution', class: Migration20261127RunExecution }];
