import { Migration } from '@mikro-orm/migrations';
import { metricMigrations } from './metric-migrations';
import { reviewMigrations } from '../review/review-migrations';
import { scoringMigrations } from './scoring-migrations';
import { revisionMigrations } from './revision-migrations';
import { executionMigrations } from './execution-migrations';

/**
 * Read models projected from the global log by the runs service. They are disposable: dropping
 * them and resetting the `read-models` checkpoint rebuilds them from the events.
 */
export class Migration20261125ReadModels extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table rm_projects (
        id          text primary key,
        name        text not null,
        created_at  timestamptz not null
      );

      create table rm_metrics (
        id                 text primary key,
        project_id         text not null,
        name               text not null,
        version            int not null,
        eval_type          text not null,
        output_type        text not null,
        heuristic          jsonb,
        passing_threshold  double precision not null,
        created_at         timestamptz not null
      );
      create index rm_metrics_project on rm_metrics (project_id);

      -- One row per run: what the run list, the status badge and live pushes show.
      create table rm_runs (
        id              text primary key,
        project_id      text not null,
        notes           text not null,
        metrics         jsonb not null,        -- the pinned MetricSnapshots, in run order
        num_metrics     int not null,
        num_records     int not null default 0,
        num_scores      int not null default 0,
        num_failures    int not null default 0,
        status          text not null,
        stream_version  int not null,          -- run stream version reflected here (read-your-writes)
        created_at      timestamptz not null,
        updated_at      timestamptz not null,  -- when the projector last changed this row
        last_event_at   timestamptz not null   -- when the newest event reflected here was appended
      );
      create index rm_runs_project_newest on rm_runs (project_id, created_at desc, id desc);

      -- Records in the order they were added; seq is the RecordAdded event's global position.
      create table rm_records (
        id           text primary key,
        run_id       text not null,
        seq          bigint not null,
        testcase_id  text,
        inputs       jsonb,
        outputs      jsonb,
        expected     jsonb,
        created_at   timestamptz not null
      );
      create index rm_records_run_seq on rm_records (run_id, seq);

      -- One row per (record, metric version): a score, or the reason scoring failed for good.
      create table rm_scores (
        record_id       text not null,
        metric_id       text not null,
        metric_version  int not null,
        run_id          text not null,
        value           double precision,
        passed          boolean,
        reasoning       text,
        error_code      text,
        error_reason    text,
        created_at      timestamptz not null,
        primary key (record_id, metric_id, metric_version)
      );

      -- Running sums per run and metric, so aggregates never scan the scores.
      create table rm_run_metric_aggregates (
        run_id     text not null,
        metric_id  text not null,
        count      int not null default 0,
        passed     int not null default 0,
        failed     int not null default 0,     -- scoring failures, not failing scores
        sum        double precision not null default 0,
        primary key (run_id, metric_id)
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql(
      'drop table if exists rm_run_metric_aggregates, rm_scores, rm_records, rm_runs, rm_metrics, rm_projects;',
    );
  }
}

/** Runs bound to the catalog (issue 3): the testset, its size when the run was made, the system version. */
export class Migration20261126RunCatalog extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table rm_runs
        add column testset_id text,
        add column num_expected_records int,
        add column system_version_id text;
    `);
  }

  override async down(): Promise<void> {
    this.addSql('alter table rm_runs drop column if exists testset_id, drop column if exists num_expected_records, drop column if exists system_version_id;');
  }
}

export const readModelMigrations = [
  { name: 'Migration20261125ReadModels', class: Migration20261125ReadModels },
  { name: 'Migration20261126RunCatalog', class: Migration20261126RunCatalog },
  ...metricMigrations,
  ...executionMigrations,
  ...reviewMigrations,
  ...scoringMigrations,
  ...revisionMigrations,
];
