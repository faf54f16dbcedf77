import { Migration } from '@mikro-orm/migrations';

/**
 * Human review (issue 4). rm_scores tells human scores apart (source, who scored, the record stream
 * position last applied, so submitScore can wait for its own write); rm_runs counts HUMAN metrics
 * and human scores apart from the others (status and phase); rm_review_queue holds, per HUMAN
 * metric, the records still waiting for a person, in the order they were added.
 */
export class Migration20261128HumanReview extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table rm_scores
        add column source           text not null default 'AUTOMATIC',
        add column scored_by        text,
        add column stream_position  int,
        add column updated_at       timestamptz;

      alter table rm_runs
        add column num_human_metrics  int not null default 0,
        add column num_human_scores   int not null default 0;
      update rm_runs u set num_human_metrics = h.n
      from (select r.id, count(*)::int as n from rm_runs r, jsonb_array_elements(r.metrics) as m
            where m->>'evalType' = 'HUMAN' group by r.id) h
      where u.id = h.id;

      -- One row per (record, HUMAN metric of its run) without a human score yet.
      create table rm_review_queue (
        metric_id   text not null,
        record_id   text not null,
        project_id  text not null,
        run_id      text not null,
        seq         bigint not null,     -- the record's seq: oldest first
        primary key (metric_id, record_id)
      );
      create index rm_review_queue_next on rm_review_queue (project_id, metric_id, seq);
      insert into rm_review_queue (metric_id, record_id, project_id, run_id, seq)
      select m->>'metricId', r.id, u.project_id, u.id, r.seq
      from rm_runs u join rm_records r on r.run_id = u.id, jsonb_array_elements(u.metrics) as m
      where m->>'evalType' = 'HUMAN'
        and not exists (select 1 from rm_scores s where s.record_id = r.id and s.metric_id = m->>'metricId')
      on conflict do nothing;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists rm_review_queue;
      alter table rm_runs drop column if exists num_human_metrics, drop column if exists num_human_scores;
      alter table rm_scores drop column if exists source, drop column if exists scored_by, drop column if exists stream_position,
        drop column if exists updated_at;
    `);
  }
}

export const reviewMigrations = [{ name: 'Migration20261128HumanReview', class: Migration20261128HumanReview }];
