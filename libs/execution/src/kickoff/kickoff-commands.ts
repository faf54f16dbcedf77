import { randomUUID } from 'node:crypto';
import { AssayError, assertValidEventData, DomainEvent, EventData } from '@assay/contracts';
import {
  assertTrials,
  batchTestcases,
  executionsStreamId,
  isServerExecuted,
  kickoffKeyStreamId,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  projectStreamId,
  runDecider,
  runStreamId,
} from '@assay/domain';
import { AppendRequest, NewEvent, PostgresEventStore, VersionConflictError } from '@assay/event-store';
import type { RunCommands, RunView } from '@assay/runs';
import type { KickoffRunInput } from '../types';
import { ExecutionCatalog, resolveTarget } from './resolve-target';

export interface KickoffCommandsDeps {
  readonly store: PostgresEventStore;
  /** Pins metrics, waits for the projector (read-your-writes), and makes runAgain's API/CI runs. */
  readonly runs: Pick<RunCommands, 'pinMetrics' | 'waitForRun' | 'createRun'>;
  readonly catalog: ExecutionCatalog;
}

/**
 * kickoffRun and runAgain: one transaction appends the run (RunCreated, source KICKOFF or
 * PLAYGROUND, numExpectedRecords = testcases × trials), the claim of its idempotency key, and the
 * executions (ExecutionsPlanned, then ExecutionsScheduled per batch of testcases). The relay (or the
 * in-process bus) carries the batches to the execution workers. Either all of it is stored or none.
 */
export class KickoffCommands {
  constructor(private readonly deps: KickoffCommandsDeps) {}

  async kickoffRun(input: KickoffRunInput): Promise<RunView> {
    const trials = input.trials ?? 1;
    assertTrials(trials);
    const key = input.idempotencyKey ?? null;
    if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
      throw new AssayError('BAD_USER_INPUT', `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters (e.g. a UUID your client makes once per intended run).`);
    }
    const { store, runs } = this.deps;
    await this.requireProject(input.projectId);
    const keyStream = key === null ? null : kickoffKeyStreamId(input.projectId, key);
    if (keyStream) {
      const claimed = await this.claimedBy(keyStream);
      if (claimed) return runs.waitForRun(claimed, 1);
    }

    const target = await resolveTarget(this.deps.catalog, input, { trials });
    const metrics = await runs.pinMetrics(input.projectId, input.metricIds);
    const runId = randomUUID();
    const numTestcases = target.testcases.length;
    const [created] = runDecider.decide(
      {
        type: 'CreateRun',
        runId,
        projectId: input.projectId,
        notes: input.notes ?? '',
        metrics,
        testset: target.testsetId ? { testsetId: target.testsetId, size: numTestcases } : null,
        systemVersionId: target.systemVersionId,
        source: target.source,
        trials,
        numExpectedRecords: numTestcases * trials,
      },
      runDecider.initialState(),
    );
    // What runAgain starts again: the input as given (inline testcases included), without its key.
    const request = {
      projectId: input.projectId,
      metricIds: [...input.metricIds],
      systemVersionId: input.systemVersionId ?? null,
      config: input.systemVersionId ? null : (input.config ?? null),
      testsetId: input.testsetId ?? null,
      testcaseIds: input.testcaseIds ? [...input.testcaseIds] : null,
      testcases: input.testcases ? [...input.testcases] : null,
      trials,
      notes: input.notes ?? null,
    };
    const executions: DomainEvent[] = [
      { type: 'ExecutionsPlanned', data: { runId, projectId: input.projectId, systemVersionId: target.systemVersionId, config: target.config, trials, numTestcases, request } },
      ...batchTestcases(target.testcases, trials).map((testcases, index): DomainEvent => ({ type: 'ExecutionsScheduled', data: { runId, batch: index + 1, trials, testcases } })),
    ];
    const requests: AppendRequest[] = [
      { streamId: runStreamId(runId), expectedVersion: 'no_stream', events: toNewEvents([created]) },
      ...(keyStream ? [{ streamId: keyStream, expectedVersion: 'no_stream' as const, events: toNewEvents([{ type: 'KickoffKeyClaimed', data: { projectId: input.projectId, idempotencyKey: key!, runId } }]) }] : []),
      { streamId: executionsStreamId(runId), expectedVersion: 'no_stream', events: toNewEvents(executions) },
    ];
    try {
      await store.append(requests);
    } catch (error) {
      // Another call with the same key won the race: its run is the one.
      if (keyStream && error instanceof VersionConflictError && error.streamId === keyStream) {
        const claimed = await this.claimedBy(keyStream);
        if (claimed) return runs.waitForRun(claimed, 1);
      }
      throw error;
    }
    return runs.waitForRun(runId, 1);
  }

  /**
   * The same testset (its testcases now), system version (or inline config and testcases),
   * metrics and trials as the run, and its source. The metrics are pinned at their current
   * versions, as a new run always does.
   */
  async runAgain(runId: string): Promise<RunView> {
    const [created] = await this.deps.store.readStream(runStreamId(runId), { types: ['RunCreated'] });
    if (!created) throw new AssayError('RUN_NOT_FOUND', `Run "${runId}" does not exist: check the run id (createRun returns it).`, { runId });
    const run = created.data as EventData<'RunCreated'>;
    const metricIds = run.metrics.map((metric) => metric.metricId);
    const source = run.source ?? 'API';
    if (!isServerExecuted(source)) {
      return this.deps.runs.createRun({
        projectId: run.projectId,
        metricIds,
        notes: run.notes,
        testsetId: run.testsetId ?? null,
        systemVersionId: run.systemVersionId ?? null,
        source: source === 'CI' ? 'CI' : 'API',
      });
    }
    const planned = (await this.deps.store.readStream(executionsStreamId(runId))).find((event) => event.type === 'ExecutionsPlanned');
    if (!planned) throw new AssayError('INTERNAL', `Run ${runId} was started by kickoffRun but its executions plan is missing: start a new run with kickoffRun.`, { runId });
    const request = (planned.data as EventData<'ExecutionsPlanned'>).request as KickoffRunInput;
    return this.kickoffRun({ ...request, metricIds, idempotencyKey: null });
  }

  private async claimedBy(keyStream: string): Promise<string | null> {
    const [claim] = await this.deps.store.readStream(keyStream);
    return claim ? (claim.data as EventData<'KickoffKeyClaimed'>).runId : null;
  }

  private async requireProject(projectId: string): Promise<void> {
    const events = await this.deps.store.readStream(projectStreamId(projectId));
    if (events.length === 0) throw new AssayError('PROJECT_NOT_FOUND', `Project "${projectId}" does not exist: check the project id (createProject returns it).`, { projectId });
  }
}

function toNewEvents(events: readonly DomainEvent[]): NewEvent[] {
  return events.map((event) => {
    assertValidEventData(event.type, event.data);
    return { type: event.type, data: event.data };
  });
}
