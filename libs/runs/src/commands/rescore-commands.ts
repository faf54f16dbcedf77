import { AssayError, EventData, MetricSnapshot, RunRescoreRequested } from '@assay/contracts';
import {
  currentRunMetrics,
  Decider,
  decideRescore,
  evolveRescore,
  initialRescoreState,
  metricsToRescore,
  recordRescoreRequests,
  RescoreRecord,
  RescoreState,
  rescoreStreamId,
  runDecider,
  RunCommand,
  RUN_STATE_EVENT_TYPES,
  RunEvent,
  RunState,
  runStreamId,
} from '@assay/domain';
import { NewEvent, PostgresEventStore, VersionConflictError } from '@assay/event-store';
import type { RescoreRunInput, RunView } from '../types';
import { asDomainEvents, foldStream, toNewEvents } from './decide-and-append';
import { currentMetricSnapshots } from './metric-snapshots';

const CONFLICT_RETRIES = 5;
/** Records read from the log per page, and most RecordRescoreRequested per append. */
const PAGE_RECORDS = 1_000;
/** Most bytes of RecordRescoreRequested JSON per append (each is a copy of its record). */
const CHUNK_BYTES = 8 * 1024 * 1024;

/** Splits a page of events into appends of at most CHUNK_BYTES of data (a single larger event goes alone). */
function chunksByBytes<T extends { data: unknown }>(events: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = JSON.stringify(event.data).length;
    if (current.length > 0 && bytes + size > CHUNK_BYTES) {
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
 * `rescores-<runId>` and one RecordRescoreRequested per record to the run stream (the first page
 * with the request, the rest right after); the scoring workers do the rest. Also what the workers read: the run's metrics as
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
      // The run's state and version, then where its records lie in the log: no payloads yet.
      const run = await this.store.loadStream(runStreamId(runId), { types: RUN_STATE_EVENT_TYPES });
      const state = foldStream<RunState, RunEvent>(runDecider as Decider<RunCommand, RunState, RunEvent>, run.events).state;
      authorize?.(state.exists ? state.projectId : null);
      if (!state.exists) throw new AssayError('RUN_NOT_FOUND', `Run ${runId} not found: check the run id (createRun returns it; runs lists a project's runs).`, { runId });
      const rescore = await this.loadRescores(runId);
      const { metricIds } = metricsToRescore(state, input.metricIds);
      const latest = await currentMetricSnapshots(this.store, state.projectId, metricIds);
      const positions = await this.recordPositionsOf(runId);
      const decision = decideRescore(
        { type: 'RescoreRun', runId, metricIds: input.metricIds, latest, numRecords: positions.length, bypassCache: Boolean(input.bypassCache) },
        state,
        rescore.state,
      );
      // The records are read and asked for a page at a time: one page of payloads is in memory at
      // once, whatever the run's size (beside each record's position and id). The first append holds the request and the first page and checks both
      // streams' versions; the rest follow with the run stream's version unchecked. A crash in
      // between leaves some records without a request: the runs service's sweep republishes
      // records that lack an outcome of the current round, which scores them with the new pins all the same.
      const appends = this.requestAppends(decision.requested, this.recordPages(runId, positions));
      const first = await appends.next();
      try {
        await this.store.append([
          { streamId: rescoreStreamId(runId), expectedVersion: rescore.version, events: toNewEvents([decision.requested]) },
          // Checked even when nothing is appended to it: records added meanwhile are included on retry.
          { streamId: runStreamId(runId), expectedVersion: run.version, events: first.done ? [] : first.value },
        ]);
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt >= CONFLICT_RETRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
        continue;
      }
      for await (const events of appends) await this.store.append([{ streamId: runStreamId(runId), expectedVersion: 'any', events }]);
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

  /**
   * Where the run's RecordAdded events lie in the log, in order: those added through the API are
   * on the run stream (read from the log itself, as of the version just loaded); those the server
   * executed are on streams of their own, found through the read model.
   */
  private async recordPositionsOf(runId: string): Promise<number[]> {
    const [onRunStream, projected] = await Promise.all([
      this.store.loadStreamPositions(runStreamId(runId), { types: ['RecordAdded'] }),
      this.reads.recordPositions(runId),
    ]);
    return [...new Set([...onRunStream.globalPositions, ...projected])].sort((a, b) => a - b);
  }

  /** The run's records as their RecordAdded stated them, PAGE_RECORDS at a time, each record once. */
  private async *recordPages(runId: string, positions: readonly number[]): AsyncGenerator<RescoreRecord[]> {
    const seen = new Set<string>();
    for (let start = 0; start < positions.length; start += PAGE_RECORDS) {
      const events = await this.store.readEventsAt(positions.slice(start, start + PAGE_RECORDS));
      const records: RescoreRecord[] = [];
      for (const event of events) {
        const data = event.data as EventData<'RecordAdded'>;
        if (event.type !== 'RecordAdded' || data.runId !== runId || seen.has(data.recordId)) continue;
        seen.add(data.recordId);
        records.push({ recordId: data.recordId, testcaseId: data.testcaseId, inputs: data.inputs, outputs: data.outputs, expected: data.expected });
      }
      yield records;
    }
  }

  /** The requests for each page of records, in appends of at most CHUNK_BYTES. */
  private async *requestAppends(requested: RunRescoreRequested, pages: AsyncIterable<RescoreRecord[]>): AsyncGenerator<NewEvent[]> {
    for await (const records of pages) yield* chunksByBytes(toNewEvents(recordRescoreRequests(requested, records)));
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
