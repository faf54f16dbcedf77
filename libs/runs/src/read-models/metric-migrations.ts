import { Migration } from '@mikro-orm/migrations';

/**
 * Metric versions (issue 3): rm_metrics shows each metric at its current version with the whole
 * definition; rm_metric_versions keeps every version. Metrics projected before this migration are
 * carried over as their version 1.
 */
export class Migration20261127MetricVersions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table rm_metrics
        add column description      text not null default '',
        add column guidelines       text not null default '',
        add column prompt_template  text,
        add column eval_model_name  text,
        add column temperature      double precision,
        add column updated_at       timestamptz;
      update rm_metrics set updated_at = created_at;
      alter table rm_metrics alter column updated_at set not null;
      create index rm_metrics_project_name on rm_metrics (project_id, name, id);

      -- One row per version; definition is the MetricDefinition (camelCase JSON) of that version.
      create table rm_metric_versions (
        metric_id   text not null,
        version     int not null,
        project_id  text not null,
        definition  jsonb not null,
        created_at  timestamptz not null,
        primary key (metric_id, version)
      );
      insert into rm_metric_versions (metric_id, version, project_id, definition, created_at)
      select id, version, project_id,
             jsonb_build_object('name', name, 'description', '', 'guidelines', '', 'evalType', eval_type, 'outputType', output_type,
                                'passingThreshold', passing_threshold, 'heuristic', heuristic, 'promptTemplate', null,
                                'evalModelName', null, 'temperature', null),
             created_at
      from rm_metrics;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists rm_metric_versions;
      drop index if exists rm_metrics_project_name;
      alter table rm_metrics drop column if exists description, drop column if exists guidelines, drop column if exists prompt_template,
        drop column if exists eval_model_name, drop column if exists temperature, drop column if exists updated_at;
    `);
  }
}

export const metricMigrations = [{ name: 'Migration20261127MetricVersions', class: Migration20261127MetricVersions }];
