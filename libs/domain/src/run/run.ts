import {
  AssayError,
  MAX_RECORDS_PER_CALL,
  MetricSnapshot,
  RecordAdded,
  RecordRescoreRequested,
  RunCreated,
  RunNotesUpdated,
  RunSource,
} from '@assay/contracts';
import type { Decider } from '../decider/decider';

export const runStreamId = (runId: string) => `run-${runId}`;

export interface CreateRun {
  readonly type: 'CreateRun';
  readonly runId: string;
  readonly projectId: string;
  readonly notes: string;
  /** Pinned by the handler from the metrics' streams at this moment. */
  readonly metrics: readonly MetricSnapshot[];
  /** The testset the run evaluates (same project; checked by the handler) and its size now. */
  readonly testset?: { readonly testsetId: string; readonly size: number } | null;
  /** The system version under test (same project; checked by the handler). */
  readonly systemVersionId?: string | null;
  /** Who starts the run (issue 4; absent: API). */
  readonly source?: RunSource;
  /** Runs the server executes: how many times each testcase runs. */
  readonly trials?: number;
  /** Runs the server executes: testcases × trials (else the testset's size). */
  readonly numExpectedRecords?: number;
}

export interface NewRecord {
  readonly recordId: string;
  readonly testcaseId: string | null;
  readonly inputs: unknown;
  readonly outputs: unknown;
  readonly expected: unknown;
}

export interface AddRecords {
  readonly type: 'AddRecords';
  readonly runId: string;
  readonly records: readonly NewRecord[];
  /**
   * For a run bound to a testset: which of the records' testcase ids are testcases of that
   * testset (looked up by the handler). Records of such a run may carry a testcaseId, and when
   * they do it must be one of these.
   */
  readonly testcasesOfTestset?: ReadonlySet<string>;
}

export interface UpdateRunNotes {
  readonly type: 'UpdateRunNotes';
  readonly runId: string;
  readonly notes: string;
}

export type RunCommand = CreateRun | AddRecords | UpdateRunNotes;
/** RecordRescoreRequested: rescoreRun asks for a record to be scored again (see ./rescore.ts); the run's state is unchanged. */
export type RunEvent = RunCreated | RecordAdded | RunNotesUpdated | RecordRescoreRequested;

export type RunState =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly runId: string;
      readonly projectId: string;
      readonly metrics: readonly MetricSnapshot[];
      readonly notes: string;
      readonly testsetId?: string;
    };

/**
 * The events a run's state is folded from. The rest of its stream (RecordAdded, most of it, with
 * every record's payload) decides nothing, so loading a run never reads them; their positions
 * still count in the stream's version.
 */
export const RUN_STATE_EVENT_TYPES: readonly RunEvent['type'][] = ['RunCreated', 'RunNotesUpdated'];

const MAX_NOTES_LENGTH = 100_000;

function assertNotes(notes: string): void {
  if (notes.length > MAX_NOTES_LENGTH) {
    throw new AssayError('BAD_USER_INPUT', `Notes are limited to ${MAX_NOTES_LENGTH} characters; shorten them.`);
  }
}

export const runDecider: Decider<RunCommand, RunState, RunEvent> = {
  initialState: () => ({ exists: false }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateRun': {
        if (state.exists) throw new AssayError('BAD_USER_INPUT', `Run ${command.runId} already exists.`);
        if (command.metrics.length === 0) {
          throw new AssayError('BAD_USER_INPUT', 'A run needs at least one metric: pass metricIds.');
        }
        const ids = new Set(command.metrics.map((m) => m.metricId));
        if (ids.size !== command.metrics.length) {
          throw new AssayError('BAD_USER_INPUT', 'metricIds lists a metric twice; list each metric once.');
        }
        assertNotes(command.notes);
        const expected = command.numExpectedRecords ?? command.testset?.size;
        const catalog = {
          ...(command.testset ? { testsetId: command.testset.testsetId } : {}),
          ...(expected !== undefined ? { numExpectedRecords: expected } : {}),
          ...(command.systemVersionId ? { systemVersionId: command.systemVersionId } : {}),
          ...(command.source && command.source !== 'API' ? { source: command.source } : {}),
          ...(command.trials !== undefined ? { trials: command.trials } : {}),
        };
        return [
          {
            type: 'RunCreated',
            data: { runId: command.runId, projectId: command.projectId, notes: command.notes, metrics: [...command.metrics], ...catalog },
          },
        ];
      }
      case 'AddRecords': {
        if (!state.exists) throw new AssayError('RUN_NOT_FOUND', `Run ${command.runId} not found.`);
        if (command.records.length > MAX_RECORDS_PER_CALL) {
          throw new AssayError(
            'TOO_MANY_RECORDS',
            `${command.records.length} records in one call; send at most ${MAX_RECORDS_PER_CALL} per addRecords call.`,
          );
        }
        if (state.testsetId) {
          const known = command.testcasesOfTestset ?? new Set<string>();
          const unknown = command.records.find((r) => r.testcaseId !== null && !known.has(r.testcaseId));
          if (unknown) {
            throw new AssayError(
              'TESTCASE_NOT_FOUND',
              `Testcase ${unknown.testcaseId} is not in testset ${state.testsetId}, which this run evaluates: use a testcase id of that testset, or leave testcaseId out. Nothing was added.`,
              { testcaseId: unknown.testcaseId },
            );
          }
        }
        return command.records.map((record) => ({
          type: 'RecordAdded' as const,
          data: {
            runId: command.runId,
            recordId: record.recordId,
            testcaseId: record.testcaseId,
            inputs: record.inputs ?? null,
            outputs: record.outputs ?? null,
            expected: record.expected ?? null,
          },
        }));
      }
      case 'UpdateRunNotes': {
        if (!state.exists) throw new AssayError('RUN_NOT_FOUND', `Run ${command.runId} not found.`);
        assertNotes(command.notes);
        if (command.notes === state.notes) return [];
        return [{ type: 'RunNotesUpdated', data: { runId: command.runId, notes: command.notes } }];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'RunCreated':
        return {
          exists: true,
          runId: event.data.runId,
          projectId: event.data.projectId,
          metrics: event.data.metrics,
          notes: event.data.notes,
          ...(event.data.testsetId ? { testsetId: event.data.testsetId } : {}),
        };
      case 'RunNotesUpdated':
        return state.exists ? { ...state, notes: event.data.notes } : state;
      case 'RecordAdded':
      case 'RecordRescoreRequested':
        return state;
    }
  },
};
