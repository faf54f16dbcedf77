import { AssayError, MetricSnapshot } from '@assay/contracts';
import { metricDecider, MetricState, metricStreamId } from '@assay/domain';
import type { PostgresEventStore } from '@assay/event-store';
import { foldStream } from './decide-and-append';

/**
 * Each metric's current version, read from its stream: what a new run pins, and what a re-score
 * pins anew. A metric of another project is refused exactly like a missing one.
 */
export async function currentMetricSnapshots(store: PostgresEventStore, projectId: string, metricIds: readonly string[]): Promise<MetricSnapshot[]> {
  const streams = await store.readStreams(metricIds.map(metricStreamId));
  return metricIds.map((metricId) => {
    const { state } = foldStream<MetricState, never>(metricDecider as never, streams.get(metricStreamId(metricId)) ?? []);
    if (!state.exists || state.projectId !== projectId) {
      throw new AssayError('METRIC_NOT_FOUND', `Metric ${metricId} not found in project ${projectId}: check the metric id (createMetric returns it).`, { metricId, projectId });
    }
    return state.snapshot;
  });
}
