import { randomUUID } from 'node:crypto';
import { AssayError, MetricSnapshot } from '@assay/contracts';
import { definitionOf, MetricCommand, metricDecider, MetricEvent, MetricState, metricStreamId } from '@assay/domain';
import { PostgresEventStore, VersionConflictError } from '@assay/event-store';
import type { CreateMetricInput, MetricView, UpdateMetricInput, UpdateMetricOptions } from '../types';
import { foldStream, toNewEvents } from './decide-and-append';

/** Compiles a CODE metric's JavaScript; throws CODE_INVALID (with line and column) when it does not. */
export type CodeChecker = (source: string) => Promise<void>;

const CONFLICT_RETRIES = 10;

/**
 * Metric commands: a metric is one stream, version 1 from MetricCreated and one more version per
 * MetricUpdated. The decider checks everything pure (config, thresholds, template syntax); the
 * CODE heuristic's source is compiled here, in the sandbox, before anything is appended.
 */
export class MetricCommands {
  constructor(
    private readonly store: PostgresEventStore,
    private readonly checkCode: CodeChecker,
  ) {}

  async create(input: CreateMetricInput): Promise<MetricView> {
    const metricId = randomUUID();
    const events = metricDecider.decide({ type: 'CreateMetric', metricId, ...input }, metricDecider.initialState());
    await this.checkCodeOf(events, null);
    const [stored] = (await this.store.append([{ streamId: metricStreamId(metricId), expectedVersion: 'no_stream', events: toNewEvents(events) }])).events;
    const state = events.reduce(metricDecider.evolve, metricDecider.initialState());
    if (!state.exists) throw new AssayError('INTERNAL', 'Metric was not created.');
    return viewOf(state, stored.createdAt, stored.createdAt);
  }

  async update(input: UpdateMetricInput, options: UpdateMetricOptions = {}): Promise<MetricView> {
    const { metricId, ...changes } = input;
    const command: MetricCommand = { type: 'UpdateMetric', metricId, ...changes };
    const streamId = metricStreamId(metricId);
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.readStream(streamId);
      const { state, version } = foldStream<MetricState, MetricEvent>(metricDecider, stored);
      options.authorize?.(state.exists ? state.projectId : null);
      const events = metricDecider.decide(command, state);
      const createdAt = stored[0]?.createdAt ?? new Date();
      if (events.length === 0) return viewOf(state, createdAt, stored.at(-1)?.createdAt ?? createdAt);
      await this.checkCodeOf(events, state.exists ? state.snapshot : null);
      try {
        const result = await this.store.append([{ streamId, expectedVersion: version, events: toNewEvents(events) }]);
        return viewOf(events.reduce(metricDecider.evolve, state), createdAt, result.events.at(-1)!.createdAt);
      } catch (error) {
        // Someone saved another version meanwhile: decide again on top of it.
        if (!(error instanceof VersionConflictError) || attempt >= CONFLICT_RETRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  /** Compiles new or changed CODE (an unchanged source compiled when it was saved). */
  private async checkCodeOf(events: readonly MetricEvent[], before: MetricSnapshot | null): Promise<void> {
    for (const event of events) {
      const heuristic = event.data.heuristic;
      if (heuristic?.kind !== 'CODE' || typeof heuristic.code !== 'string') continue;
      if (before?.heuristic?.kind === 'CODE' && before.heuristic.code === heuristic.code) continue;
      await this.checkCode(heuristic.code);
    }
  }
}

export function viewOf(state: MetricState, createdAt: Date, updatedAt: Date): MetricView {
  if (!state.exists) throw new AssayError('INTERNAL', 'No metric to show.');
  const { snapshot } = state;
  return { id: snapshot.metricId, projectId: state.projectId, version: snapshot.version, ...definitionOf(snapshot), createdAt, updatedAt };
}
