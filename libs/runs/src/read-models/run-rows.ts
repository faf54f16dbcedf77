import type { MetricSnapshot } from '@assay/contracts';
import type { RunStatus } from '@assay/domain';
import type { RunView } from '../types';

/** rm_runs as PostgreSQL returns it. */
export interface RunRow {
  id: string;
  project_id: string;
  notes: string;
  metrics: MetricSnapshot[];
  num_metrics: number;
  num_records: number;
  num_scores: number;
  num_failures: number;
  status: string;
  stream_version: number;
  created_at: Date;
  updated_at: Date;
  last_event_at: Date;
  testset_id: string | null;
  num_expected_records: number | null;
  system_version_id: string | null;
}

export const RUN_COLUMNS = [
  'id',
  'project_id',
  'notes',
  'metrics',
  'num_metrics',
  'num_records',
  'num_scores',
  'num_failures',
  'status',
  'stream_version',
  'created_at',
  'updated_at',
  'last_event_at',
  'testset_id',
  'num_expected_records',
  'system_version_id',
] as const;

export function toRunView(row: RunRow): RunView {
  return {
    id: row.id,
    projectId: row.project_id,
    status: row.status as RunStatus,
    numRecords: row.num_records,
    numScores: row.num_scores,
    numFailures: row.num_failures,
    notes: row.notes,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastEventAt: new Date(row.last_event_at),
    testsetId: row.testset_id,
    numExpectedRecords: row.num_expected_records,
    systemVersionId: row.system_version_id,
    streamVersion: row.stream_version,
    metrics: row.metrics.map((m) => ({
      id: m.metricId,
      name: m.name,
      version: m.version,
      evalType: m.evalType,
      outputType: m.outputType,
      passingThreshold: m.passingThreshold,
    })),
  };
}
