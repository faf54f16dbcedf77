import type { EventData } from '@assay/contracts';
import type { Sql } from '@assay/database';
import { definitionOf, MetricDefinition } from '@assay/domain';
import type { StoredEvent } from '@assay/event-store';

interface VersionRow {
  metric_id: string;
  version: number;
  project_id: string;
  definition: MetricDefinition;
  created_at: string;
}

/**
 * Folds MetricCreated and MetricUpdated into rm_metrics (current version) and rm_metric_versions
 * (every version), in the projector's transaction. Idempotent: a version is inserted once, and the
 * current row only moves forward.
 */
export async function projectMetrics(events: readonly StoredEvent[], tx: Sql): Promise<void> {
  const versions: VersionRow[] = [];
  for (const event of events) {
    if (event.type === 'MetricCreated') {
      const { metricId, projectId, ...created } = event.data as EventData<'MetricCreated'>;
      versions.push({
        metric_id: metricId,
        version: 1,
        project_id: projectId,
        definition: definitionOf({ metricId, version: 1, ...created }),
        created_at: event.createdAt.toISOString(),
      });
    } else if (event.type === 'MetricUpdated') {
      const { metricId, projectId, version, ...definition } = event.data as EventData<'MetricUpdated'>;
      versions.push({ metric_id: metricId, version, project_id: projectId, definition, created_at: event.createdAt.toISOString() });
    }
  }
  if (versions.length === 0) return;
  await tx.query(
    `insert into rm_metric_versions (metric_id, version, project_id, definition, created_at)
     select metric_id, version, project_id, definition, created_at
     from jsonb_to_recordset($1::jsonb) as x(metric_id text, version int, project_id text, definition jsonb, created_at timestamptz)
     on conflict do nothing`,
    [JSON.stringify(versions)],
  );
  // The newest version of each metric in the batch becomes (or stays) its current row.
  await tx.query(
    `with latest as (
       select distinct on (metric_id) metric_id, version, project_id, definition as d, created_at
       from jsonb_to_recordset($1::jsonb) as x(metric_id text, version int, project_id text, definition jsonb, created_at timestamptz)
       order by metric_id, version desc)
     insert into rm_metrics as m (id, project_id, name, version, eval_type, output_type, heuristic, passing_threshold,
                                  description, guidelines, prompt_template, eval_model_name, temperature, created_at, updated_at)
     select metric_id, project_id, d->>'name', version, d->>'evalType', d->>'outputType', nullif(d->'heuristic', 'null'::jsonb),
            (d->>'passingThreshold')::double precision, d->>'description', d->>'guidelines', d->>'promptTemplate',
            d->>'evalModelName', (d->>'temperature')::double precision, created_at, created_at
     from latest
     on conflict (id) do update set
       name = excluded.name, version = excluded.version, heuristic = excluded.heuristic,
       passing_threshold = excluded.passing_threshold, description = excluded.description, guidelines = excluded.guidelines,
       prompt_template = excluded.prompt_template, eval_model_name = excluded.eval_model_name,
       temperature = excluded.temperature, updated_at = excluded.updated_at
     where m.version < excluded.version`,
    [JSON.stringify(versions)],
  );
}
