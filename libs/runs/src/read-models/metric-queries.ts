import type { HeuristicDefinition } from '@assay/contracts';
import type { Sql } from '@assay/database';
import { definitionOf, MetricDefinition } from '@assay/domain';
import type { MetricVersionView, MetricView } from '../types';

interface MetricRow {
  id: string;
  project_id: string;
  name: string;
  version: number;
  eval_type: MetricView['evalType'];
  output_type: MetricView['outputType'];
  heuristic: HeuristicDefinition | null;
  passing_threshold: number;
  description: string;
  guidelines: string;
  prompt_template: string | null;
  eval_model_name: string | null;
  temperature: number | null;
  created_at: Date;
  updated_at: Date;
}

const METRIC_COLUMNS =
  'id, project_id, name, version, eval_type, output_type, heuristic, passing_threshold, description, guidelines, prompt_template, eval_model_name, temperature, created_at, updated_at';

function toMetricView(row: MetricRow): MetricView {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    version: row.version,
    evalType: row.eval_type,
    outputType: row.output_type,
    heuristic: row.heuristic,
    passingThreshold: row.passing_threshold,
    description: row.description,
    guidelines: row.guidelines,
    promptTemplate: row.prompt_template,
    evalModelName: row.eval_model_name,
    temperature: row.temperature,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toVersionView(metricId: string, version: number, definition: MetricDefinition, createdAt: Date): MetricVersionView {
  // Through definitionOf: fields a definition lacks read as their defaults.
  return { metricId, version, ...definitionOf({ metricId, version, ...definition }), createdAt: new Date(createdAt) };
}

/** Reads of the metric read models (rm_metrics, rm_metric_versions; a run's pinned metrics in rm_runs). */
export class MetricQueries {
  constructor(private readonly sql: Sql) {}

  async get(id: string): Promise<MetricView | null> {
    const [row] = await this.sql.query<MetricRow>(`select ${METRIC_COLUMNS} from rm_metrics where id = $1`, [id]);
    return row ? toMetricView(row) : null;
  }

  async list(projectId: string): Promise<MetricView[]> {
    const rows = await this.sql.query<MetricRow>(`select ${METRIC_COLUMNS} from rm_metrics where project_id = $1 order by name, id`, [projectId]);
    return rows.map(toMetricView);
  }

  async versions(metricId: string): Promise<MetricVersionView[]> {
    const rows = await this.sql.query<{ version: number; definition: MetricDefinition; created_at: Date }>(
      'select version, definition, created_at from rm_metric_versions where metric_id = $1 order by version',
      [metricId],
    );
    return rows.map((row) => toVersionView(metricId, row.version, row.definition, row.created_at));
  }

  /** The snapshots the run pinned (the run's own copy: what its records are scored with), in run order. */
  async ofRun(runId: string): Promise<MetricVersionView[]> {
    const rows = await this.sql.query<{ snapshot: MetricDefinition & { metricId: string; version: number }; created_at: Date | null; run_created_at: Date }>(
      `select m.snapshot, v.created_at, r.created_at as run_created_at
       from rm_runs r, jsonb_array_elements(r.metrics) with ordinality as m(snapshot, ord)
       left join rm_metric_versions v on v.metric_id = m.snapshot->>'metricId' and v.version = (m.snapshot->>'version')::int
       where r.id = $1
       order by m.ord`,
      [runId],
    );
    return rows.map((row) => toVersionView(row.snapshot.metricId, row.snapshot.version, row.snapshot, row.created_at ?? row.run_created_at));
  }
}
