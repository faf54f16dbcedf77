import { randomUUID } from 'node:crypto';
import { AssayError, DEFAULT_MAX_RECORD_BYTES, EventData, MetricSnapshot } from '@assay/contracts';
import {
  canonicalJson,
  Decider,
  projectDecider,
  projectStreamId,
  runDecider,
  RunCommand,
  RunEvent,
  RunState,
  RUN_STATE_EVENT_TYPES,
  runStreamId,
  uuidFrom,
} from '@assay/domain';
import { DuplicateEventError, PostgresEventStore, VersionConflictError } from '@assay/event-store';
import { checkCodeMetric } from '@assay/scoring';
import type { CreateMetricInput, CreateRunInput, MetricView, ProjectView, RecordInput, RecordView, RunCatalog, RunCommandsApi, RunView, UpdateMetricInput, UpdateMetricOptions } from '../types';
import { CodeChecker, MetricCommands } from './metric-commands';
import type { RunQueries } from '../read-models/run-queries';
import { foldStream, toNewEvents } from './decide-and-append';
import { recordOutcomes, ScoringOutcome } from './record-outcomes';
import { KeyedMutex } from './keyed-mutex';
import { StreamStateCache } from './stream-state-cache';
import { currentMetricSnapshots } from './metric-snapshots';
import { assertRecordSizes } from './record-size';
import { RescoreCommands } from './rescore-commands';
import type { RescoreRunInput } from '../types';

export interface RunCommandsOptions {
  /** How long a command waits for its result to show in the read models. */
  readonly projectionTimeoutMs?: number;
  /** Testsets and system versions runs may be bound to; without it, createRun refuses a testsetId or systemVersionId. */
  readonly catalog?: RunCatalog;
  /** Largest record accepted (default DEFAULT_MAX_RECORD_BYTES): it must fit one bus message. */
  readonly maxRecordBytes?: number;
  /** Compiles CODE metrics when they are saved. Default: the process's code sandbox (@assay/scoring). */
  readonly checkCode?: CodeChecker;
}

const CONFLICT_RETRIES = 10;

/**
 * The command side of runs: load a stream, decide, append with the version read. Conflicts (a
 * concurrent writer on the same stream) are retried by reading again and deciding again.
 */
export class RunCommands implements RunCommandsApi {
  private readonly runs = new StreamStateCache<RunState>();
  private readonly runLocks = new KeyedMutex();
  private readonly metrics: MetricCommands;
  private readonly rescores: RescoreCommands;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly queries: RunQueries,
    private readonly options: RunCommandsOptions = {},
  ) {
    this.metrics = new MetricCommands(store, options.checkCode ?? checkCodeMetric);
    this.rescores = new RescoreCommands(store, queries, { projectionTimeoutMs: options.projectionTimeoutMs });
  }

  async createProject(input: { name: string }): Promise<ProjectView> {
    const projectId = randomUUID();
    const events = projectDecider.decide({ type: 'CreateProject', projectId, name: input.name }, projectDecider.initialState());
    const [stored] = (await this.store.append([{ streamId: projectStreamId(projectId), expectedVersion: 'no_stream', events: toNewEvents(events) }])).events;
    return { id: projectId, name: events[0].data.name, createdAt: stored.createdAt };
  }

  async createMetric(input: CreateMetricInput): Promise<MetricView> {
    await this.requireProject(input.projectId);
    return this.metrics.create(input);
  }

  async updateMetric(input: UpdateMetricInput, options?: UpdateMetricOptions): Promise<MetricView> {
    return this.metrics.update(input, options);
  }

  async createRun(input: CreateRunInput): Promise<RunView> {
    await this.requireProject(input.projectId);
    const metrics = await this.pinMetrics(input.projectId, input.metricIds);
    const { testset, systemVersionId } = await this.resolveCatalog(input);
    const runId = randomUUID();
    const source = input.source ?? 'API';
    if (source !== 'API' && source !== 'CI') {
      throw new AssayError('BAD_USER_INPUT', `createRun takes source API or CI (got ${source}): runs the server executes start with kickoffRun.`, { source });
    }
    const version = await this.handleRun(runId, { type: 'CreateRun', runId, projectId: input.projectId, notes: input.notes ?? '', metrics, testset, systemVersionId, source });
    return this.waitForRun(runId, version);
  }

  async addRecords(runId: string, records: readonly RecordInput[], options: { idempotencyKey?: string | null } = {}): Promise<RecordView[]> {
    const key = options.idempotencyKey;
    if (key !== undefined && key !== null && (key.length === 0 || key.length > 200)) {
      throw new AssayError('BAD_USER_INPUT', 'idempotencyKey must be 1 to 200 characters; use one key per addRecords call and reuse it only to retry that call.');
    }
    // With a key, ids follow from (run, key, position): a retried call appends events whose ids
    // are already stored, which the event store refuses as duplicates, so nothing is added twice.
    const recordIdAt = (index: number) => (key ? keyedRecordId(runId, key, index) : randomUUID());
    const added = records.map((record, index) => ({
      recordId: recordIdAt(index),
      testcaseId: record.testcaseId ?? null,
      inputs: record.inputs ?? null,
      outputs: record.outputs ?? null,
      expected: record.expected ?? null,
    }));
    assertRecordSizes(added, this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
    const testcasesOfTestset = await this.testcasesOfRunTestset(runId, added);
    await this.handleRun(runId, { type: 'AddRecords', runId, records: added, testcasesOfTestset }, key ? recordAddedEventId : undefined).catch(async (error: unknown) => {
      if (!(key && error instanceof DuplicateEventError)) throw error;
      // A call with this key was made before: answer as it was answered, if it is the very same call.
      await this.assertSameRecordsStored(runId, key, added);
    });
    const createdAt = new Date();
    return added.map((record) => ({
      id: record.recordId,
      runId,
      testcaseId: record.testcaseId,
      inputs: record.inputs,
      outputs: record.outputs,
      expected: record.expected,
      scores: [],
      createdAt,
    }));
  }

  async updateRunNotes(runId: string, notes: string): Promise<RunView> {
    const version = await this.handleRun(runId, { type: 'UpdateRunNotes', runId, notes });
    return this.waitForRun(runId, version);
  }

  /** Scores and failures from the scoring workers: one transaction per batch, idempotent. */
  recordOutcomes(outcomes: readonly ScoringOutcome[]): Promise<number> {
    return recordOutcomes(this.store, outcomes);
  }

  /** The metric versions a run pinned when it was created: what its records are scored with. */
  async metricsOfRun(runId: string): Promise<readonly MetricSnapshot[]> {
    const { state } = await this.loadRun(runId);
    if (!state.exists) throw new AssayError('RUN_NOT_FOUND', `Run ${runId} not found: check the run id (createRun returns it; runs lists a project's runs).`, { runId });
    // Re-scored metrics at their new versions, each with the round its outcomes carry (issue 4).
    return this.rescores.metricsOfRun(runId, state.metrics);
  }

  /**
   * Issue 4: scores the run's existing records again with the metrics' latest versions (HUMAN
   * metrics never), without running the system. `authorize` sees the run's project first (null:
   * no such run) and throws to refuse. Resolves with the run once the read models count the new round.
   */
  rescoreRun(input: RescoreRunInput, authorize?: (projectId: string | null) => void): Promise<RunView> {
    return this.rescores.rescoreRun(input, authorize);
  }

  /** For the scoring workers: per run, the version of its re-score stream (when it moves, the run's metrics changed). */
  rescoreVersions(runIds: readonly string[]): Promise<Map<string, number>> {
    return this.rescores.rescoreVersions(runIds);
  }

  /** Decides and appends on the run stream; returns the stream version after the append. */
  private handleRun(runId: string, command: RunCommand, eventIdOf?: (event: RunEvent) => string | undefined): Promise<number> {
    return this.runLocks.run(runId, () => this.decideAndAppendRun(runId, command, eventIdOf));
  }

  private async decideAndAppendRun(runId: string, command: RunCommand, eventIdOf?: (event: RunEvent) => string | undefined): Promise<number> {
    const streamId = runStreamId(runId);
    for (let attempt = 1; ; attempt++) {
      const current = await this.loadRun(runId);
      const events = runDecider.decide(command, current.state);
      if (events.length === 0) return current.version;
      try {
        const newEvents = toNewEvents(events).map((event, i) => ({ ...event, eventId: eventIdOf?.(events[i]) }));
        const result = await this.store.append([{ streamId, expectedVersion: current.version, events: newEvents }]);
        const version = result.streamVersions.get(streamId)!;
        this.runs.set(streamId, { state: events.reduce(runDecider.evolve, current.state), version });
        return version;
      } catch (error) {
        this.runs.delete(streamId);
        // Events with these ids are stored already (an idempotency key's call made before): the caller's to answer.
        if (error instanceof DuplicateEventError) throw error;
        if (!(error instanceof VersionConflictError) || attempt >= CONFLICT_RETRIES) throw error;
        // Another process wrote to this run: back off a little, with jitter, so writers interleave.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  private async loadRun(runId: string): Promise<{ state: RunState; version: number }> {
    const streamId = runStreamId(runId);
    const cached = this.runs.get(streamId);
    // Only the events the state depends on: a run of a million records is not read to add the next.
    const { events, version } = await this.store.loadStream(streamId, { after: cached?.version ?? 0, types: RUN_STATE_EVENT_TYPES });
    const folded = foldStream<RunState, RunEvent>(runDecider as Decider<RunCommand, RunState, RunEvent>, events, cached);
    const loaded = { state: folded.state, version };
    if (loaded.state.exists) this.runs.set(streamId, loaded);
    return loaded;
  }

  private async requireProject(projectId: string): Promise<void> {
    const events = await this.store.readStream(projectStreamId(projectId));
    if (events.length === 0) throw new AssayError('PROJECT_NOT_FOUND', `Project ${projectId} not found: check the project id (createProject returns it).`, { projectId });
  }

  /**
   * The testset (with its size now: numExpectedRecords) and system version a run is bound to. Both
   * must be of the run's project; one of another project is refused exactly like a missing one.
   */
  private async resolveCatalog(input: CreateRunInput): Promise<{ testset: { testsetId: string; size: number } | null; systemVersionId: string | null }> {
    const catalog = this.options.catalog;
    let testset: { testsetId: string; size: number } | null = null;
    if (input.testsetId) {
      const found = catalog ? await catalog.testset(input.testsetId) : null;
      if (!found || found.projectId !== input.projectId) {
        throw new AssayError('TESTSET_NOT_FOUND', `Testset "${input.testsetId}" does not exist: check the testset id (createTestset returns it).`, { testsetId: input.testsetId });
      }
      testset = { testsetId: input.testsetId, size: found.numTestcases };
    }
    if (input.systemVersionId) {
      const found = catalog ? await catalog.systemVersion(input.systemVersionId) : null;
      if (!found || found.projectId !== input.projectId) {
        throw new AssayError('SYSTEM_VERSION_NOT_FOUND', `System version "${input.systemVersionId}" does not exist: check the id (createSystemVersion returns it).`, {
          systemVersionId: input.systemVersionId,
        });
      }
    }
    return { testset, systemVersionId: input.systemVersionId || null };
  }

  /** For a run bound to a testset: which of the records' testcase ids are testcases of it (the decider refuses the others). */
  private async testcasesOfRunTestset(runId: string, records: readonly { testcaseId: string | null }[]): Promise<ReadonlySet<string> | undefined> {
    const ids = records.flatMap((r) => (r.testcaseId ? [r.testcaseId] : []));
    if (ids.length === 0) return undefined;
    const { state } = await this.loadRun(runId);
    if (!state.exists || !state.testsetId || !this.options.catalog) return undefined;
    return this.options.catalog.testcasesOf(state.testsetId, ids);
  }

  /** Each metric's current version: pinned in the run, whatever edits follow. Refuses a metric of another project as missing. */
  pinMetrics(projectId: string, metricIds: readonly string[]): Promise<MetricSnapshot[]> {
    return currentMetricSnapshots(this.store, projectId, metricIds);
  }

  /**
   * An addRecords retried with its idempotency key stored nothing new: the first call's records are
   * there. A key reused for other records (more, fewer, different) would silently answer with ids of
   * records that were never added: refused.
   */
  private async assertSameRecordsStored(runId: string, key: string, added: readonly AddedRecord[]): Promise<void> {
    // The record after the last one too: if it exists, the earlier call had more records.
    const afterLast = keyedRecordId(runId, key, added.length);
    const stored = await this.store.readEventsById([...added.map((record) => record.recordId), afterLast].map(recordAddedEventIdOf));
    const byId = new Map(stored.map((event) => [(event.data as AddedRecord).recordId, event.data as AddedRecord]));
    let differs = added.findIndex((record) => {
      const earlier = byId.get(record.recordId);
      return !earlier || canonicalJson(pick(earlier)) !== canonicalJson(pick(record));
    });
    if (differs === -1 && byId.has(afterLast)) differs = added.length;
    if (differs === -1) return;
    throw new AssayError(
      'IDEMPOTENCY_KEY_REUSED',
      `idempotencyKey "${key}" was used before for other records (they differ at records[${differs}]): nothing was added. ` +
        'Reuse a key only to retry the very same call; use a new key for new records.',
      { idempotencyKey: key, index: differs },
    );
  }

  /** Read-your-writes: wait until the projector has applied the run stream up to `version`. */
  async waitForRun(runId: string, version: number): Promise<RunView> {
    const deadline = Date.now() + (this.options.projectionTimeoutMs ?? 10_000);
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const view = await this.queries.getRun(runId);
      if (view && view.streamVersion >= version) return view;
      if (Date.now() > deadline) {
        throw new AssayError('UNAVAILABLE', `Run ${runId} was saved but is not visible yet: the runs service may be down or behind. Query it again shortly.`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** The RecordAdded of a record whose id came from an idempotency key: stored once, whatever the retries. */
function recordAddedEventId(event: RunEvent): string | undefined {
  return event.type === 'RecordAdded' ? recordAddedEventIdOf(event.data.recordId) : undefined;
}

/** The id of a record added with an idempotency key: fixed by (run, key, place in the call). */
function keyedRecordId(runId: string, key: string, index: number): string {
  return uuidFrom(`assay/record/${runId}/${key}/${index}`);
}

function recordAddedEventIdOf(recordId: string): string {
  return uuidFrom(`assay/record-added/${recordId}`);
}

type AddedRecord = Pick<EventData<'RecordAdded'>, 'recordId' | 'testcaseId' | 'inputs' | 'outputs' | 'expected'>;

/** What a caller sent for a record (a stored JSON null reads back as null, as sent). */
function pick(record: AddedRecord) {
  return { testcaseId: record.testcaseId ?? null, inputs: record.inputs ?? null, outputs: record.outputs ?? null, expected: record.expected ?? null };
}
