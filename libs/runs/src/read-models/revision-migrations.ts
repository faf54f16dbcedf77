import { Migration } from '@mikro-orm/migrations';

/**
 * rm_runs.revision: how many events of the log the run's row reflects. It orders a run's views for
 * live updates: counts alone do not (a re-score sets them back to zero; a failed execution or a
 * human correction changes none of them). Replaying the log gives every run the same revision again,
 * so a rebuild of the read models never sets a live subscriber's run back. Rows already there start
 * at zero: the order only has to hold from the upgrade on.
 */
export class Migration20261130RunRevision extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table rm_runs add column revision bigint not null default 0;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table rm_runs drop column if exists revision;');
  }
}

export const revisionMigrations = [{ name: 'Migration20261130RunRevision', class: Migration20261130RunRevision }];
