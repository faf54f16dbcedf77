import { Migration } from '@mikro-orm/migrations';

/**
 * Re-scoring and cost (issue 4; see scoring-projection.ts). rm_scores keeps each outcome's round
 * and the judge calls behind it; aggregates count a metric's current version and round (null
 * version: the one the run pinned at creation); runs and aggregates add up tokens and cost.
 */
export class Migration20261129ScoringCost extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table rm_scores
        add column round              int not null default 0,
        add column judge_model        text,
        add column prompt_tokens      int,
        add column completion_tokens  int,
        add column cost               double precision,
        add column cached             boolean;

      alter table rm_run_metric_aggregates
        add column metric_version  int,
        add column round           int not null default 0,
        add column rescored_at     timestamptz,
        add column judge_tokens    bigint not null default 0,
        add column judge_cost      double precision not null default 0;

      alter table rm_runs
        add column system_tokens  bigint not null default 0,
        add column system_cost    double precision not null default 0,
        add column judge_tokens   bigint not null default 0,
        add column judge_cost     double precision not null default 0;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      alter table rm_runs drop column if exists system_tokens, drop column if exists system_cost,
        drop column if exists judge_tokens, drop column if exists judge_cost;
      alter table rm_run_metric_aggregates drop column if exists metric_version, drop column if exists round,
        drop column if exists rescored_at, drop column if exists judge_tokens, drop column if exists judge_cost;
      alter table rm_scores drop column if exists round, drop column if exists judge_model, drop column if exists prompt_tokens,
        drop column if exists completion_tokens, drop column if exists cost, drop column if exists cached;
    `);
  }
}

export const scoringMigrations = [{ name: 'Migration20261129ScoringCost', class: Migration20261129ScoringCost }];
