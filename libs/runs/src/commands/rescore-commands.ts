import { AssayError, EventData, MetricSnapshot, RunRescoreRequested } from '@assay/contracts';
import {
  currentRunMetrics,
  Decider,
  decideRescore,
  evolveRescore,
  initialRescoreState,
  metricDecider,
  MetricState,
  metricStreamId,
  metricsToRescore,
  RescoreRecord,
  RescoreState,
  rescoreStreamId,
  runDecider,
  RunCommand,
  RunEvent,
  RunState,
  runStreamId,
} from '@assay/domain';
import { AppendRequest, PostgresEventStore, StoredEvent, VersionConflictError } from '@assay/event-store';
import type { RescoreRunInput, RunView } from '../types';
import { asDomainEvents, foldStream, toNewEvents } from './decide-and-append';

const CONFLICT_RETRIES = 5;
/** Most RecordRescoreRequested per append, by count and by JSON size (each is a copy of its record). */
const CHUNK_EVENTS = 1_000;
const CHUNK_BYTES = 8 * 1024 * 1024;

function chunks<T extends { data: unknown }>(events: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = JSON.stringify(event.data).length;
    if (current.length > 0 && (current.length >= CHUNK_EVENTS || bytes + size > CHUNK_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** What re-scoring needs of the read models (RunQueries implements it). */
export interface RescoreReads {
  getRun(runId: string): Promise<RunView | null>;
  /** Global positions of the run's RecordAdded events, in order (records the server executed live on streams of their own). */
  recordPositions(runId: string): Promise<number[]>;
  /** Whether the read models count each of these metrics of the run in `round` (or a later one). */
  rescoreProjected(runId: string, metricIds: readonly string[], round: number): Promise<boolean>;
}

/**
 * rescoreRun (issue 4): appends RunRescoreRequested (the metrics' latest versions, a new round) to
 * `rescores-<runId>` and one RecordRescoreRequested per record to the run stream, in one
 * transaction; the scoring workers do the rest. Also what the workers read: the run's metrics as
 * it scores them now, and the re-score stream versions that tell them when to read again.
 */
export class RescoreCommands {
  constructor(
    private readonly store: PostgresEventStore,
    private readonly reads: RescoreReads,
    private readonly options: { projectionTimeoutMs?: number } = {},
  ) {}

  async rescoreRun(input: RescoreRunInput, authorize?: (projectId: string | null) => void): Promise<RunView> {
    const { runId } = input;
    for (let attempt = 1; ; attempt++) {
      const runEvents = await this.store.readStream(runStreamId(runId));
      const run = foldStream<RunState, RunEvent>(runDecider as Decider<RunCommand, RunState, RunEvent>, runEvents);
      authorize?.(run.state.exists ? run.state.projectId : null);
      if (!run.state.exists) throw new AssayError('RUN_NOT_FOUND', `Run ${runId} not found.`, { runId });
      const rescore = await this.loadRescores(runId);
      const { metricIds } = metricsToRescore(run.state, input.metricIds);
      const latest = await this.latestSnapshots(run.state.projectId, metricIds);
      const records = await this.recordsOf(runId, runEvents);
      const decision = decideRescore(
        { type: 'RescoreRun', runId, metricIds: input.metricIds, latest, records, bypassCache: Boolean(input.bypassCache) },
        run.state,
        rescore.state,
      );
      // Large runs go in several appends: the first holds the request (and checks both streams'
      // versions), the rest follow with the run stream's version unchecked. A crash in between
      // leaves some records without a request: the runs service's sweep republishes records that
      // lack an outcome of the current round, which scores them with the new pins all the same.
      const [first = [], ...rest] = chunks(toNewEvents(decision.records));
      const requests: AppendRequest[] = [
        { streamId: rescoreStreamId(runId), expectedVersion: rescore.version, events: toNewEvents([decision.requested]) },
        // Checked even when nothing is appended to it: records added meanwhile are included on retry.
        { streamId: runStreamId(runId), expectedVersion: run.version, events: first },
      ];
      try {
        await this.store.append(requests);
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt >= CONFLICT_RETRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
        continue;
      }
      for (const events of rest) await this.store.append([{ streamId: runStreamId(runId), expectedVersion: 'any', events }]);
      return this.waitForRescore(runId, decision.requested.data.metrics.map((m) => m.metricId), decision.requested.data.round);
    }
  }

  /** The run's metrics as it scores them now: its pinned snapshots, re-pinned by re-scores, each with its round. */
  async metricsOfRun(runId: string, pinned: readonly MetricSnapshot[]): Promise<(MetricSnapshot & { round: number })[]> {
    const { state } = await this.loadRescores(runId);
    return currentRunMetrics(pinned, state).map((pin) => ({ ...pin.snapshot, round: pin.round }));
  }

  /** Per run, its re-score stream's version (0: never re-scored): one indexed lookup each. */
  async rescoreVersions(runIds: readonly string[]): Promise<Map<string, number>> {
    const versions = await Promise.all(runIds.map((runId) => this.store.streamVersion(rescoreStreamId(runId))));
    return new Map(runIds.map((runId, i) => [runId, versions[i]]));
  }

  private async loadRescores(runId: string): Promise<{ state: RescoreState; version: number }> {
    const events = await this.store.readStream(rescoreStreamId(runId));
    let state = initialRescoreState();
    for (const event of asDomainEvents<RunRescoreRequested>(events)) state = evolveRescore(state, event);
    return { state, version: events.at(-1)?.streamPosition ?? 0 };
  }

  /** Each metric's current version, from its stream (a metric of another project cannot be in the run). */
  private async latestSnapshots(projectId: string, metricIds: readonly string[]): Promise<MetricSnapshot[]> {
    const streams = await this.store.readStreams(metricIds.map(metricStreamId));
    return metricIds.map((metricId) => {
      const { state } = foldStream<MetricState, never>(metricDecider as never, streams.get(metricStreamId(metricId)) ?? []);
      if (!state.exists || state.projectId !== projectId) throw new AssayError('METRIC_NOT_FOUND', `Metric ${metricId} not found in project ${projectId}.`, { metricId });
      return state.snapshot;
    });
  }

  /**
   * The run's records as their RecordAdded stated them: those added through the API are on the run
   * stream; those the server executed are on streams of their own, found through the read model.
   */
  private async recordsOf(runId: string, runEvents: readonly StoredEvent[]): Promise<RescoreRecord[]> {
    const added = runEvents.filter((event) => event.type === 'RecordAdded');
    const onRunStream = new Set(added.map((event) => event.globalPosition));
    const elsewhere = (await this.reads.recordPositions(runId)).filter((position) => !onRunStream.has(position));
    const executed = elsewhere.length > 0 ? await this.store.readEventsAt(elsewhere) : [];
    const byId = new Map<string, StoredEvent>();
    for (const event of [...added, ...executed]) {
      const data = event.data as EventData<'RecordAdded'>;
      if (event.type === 'RecordAdded' && data.runId === runId && !byId.has(data.recordId)) byId.set(data.recordId, event);
    }
    return [...byId.values()]
      .sort((a, b) => a.globalPosition - b.globalPosition)
      .map((event) => {
        const data = event.data as EventData<'RecordAdded'>;
        return { recordId: data.recordId, testcaseId: data.testcaseId, inputs: data.inputs, outputs: data.outputs, expected: data.expected };
      });
  }

  /** Read-your-writes: the run as the read models show it once they count the new round. */
  private async waitForRescore(runId: string, metricIds: readonly string[], round: number): Promise<RunView> {
    const deadline = Date.now() + (this.options.projectionTimeoutMs ?? 10_000);
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      if (await this.reads.rescoreProjected(runId, metricIds, round)) {
        const view = await this.reads.getRun(runId);
        if (view) return view;
      }
      if (Date.now() > deadline) {
        throw new AssayError('UNAVAILABLE', `The re-score of run ${runId} was saved but is not visible yet: the runs service may be down or behind. Query the run again shortly.`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
