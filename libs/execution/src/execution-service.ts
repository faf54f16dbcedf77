import { AssayError, MetricSnapshot } from '@assay/contracts';
import { projectStreamId } from '@assay/domain';
import type { PostgresEventStore } from '@assay/event-store';
import type { ExecutionFailureView, RunCommands, RunQueries, RunView } from '@assay/runs';
import type { PlanOptions } from '@assay/scoring';
import { KickoffCommands } from './kickoff/kickoff-commands';
import type { ExecutionCatalog } from './kickoff/resolve-target';
import { startPlayground } from './playground/playground';
import type { ExecutionApi, KickoffRunInput, PlaygroundInput, PlaygroundUpdate } from './types';
import type { ChatClient } from './worker/system-call';

export interface ExecutionServiceDeps {
  readonly store: PostgresEventStore;
  readonly runs: Pick<RunCommands, 'pinMetrics' | 'waitForRun' | 'createRun'>;
  readonly queries: Pick<RunQueries, 'listExecutionFailures'>;
  readonly catalog: ExecutionCatalog;
  /** The process's LLM client (connected on first use): the playground's model calls. */
  readonly llm: () => Promise<ChatClient>;
  /** See PlaygroundDeps.planOptions. */
  readonly planOptions?: (metrics: readonly MetricSnapshot[]) => Promise<PlanOptions>;
}

/** kickoffRun, runAgain and the playground, for the gateway (ExecutionApi). */
export class ExecutionService implements ExecutionApi {
  readonly kickoff: KickoffCommands;

  constructor(private readonly deps: ExecutionServiceDeps) {
    this.kickoff = new KickoffCommands(deps);
  }

  kickoffRun(input: KickoffRunInput): Promise<RunView> {
    return this.kickoff.kickoffRun(input);
  }

  runAgain(runId: string): Promise<RunView> {
    return this.kickoff.runAgain(runId);
  }

  playground(input: PlaygroundInput): Promise<AsyncIterableIterator<PlaygroundUpdate>> {
    return startPlayground(
      {
        catalog: this.deps.catalog,
        runs: this.deps.runs,
        llm: this.deps.llm,
        planOptions: this.deps.planOptions,
        requireProject: async (projectId) => {
          if ((await this.deps.store.readStream(projectStreamId(projectId))).length === 0) {
            throw new AssayError('PROJECT_NOT_FOUND', `Project "${projectId}" does not exist: check the project id (createProject returns it).`, { projectId });
          }
        },
      },
      input,
    );
  }

  executionFailures(runId: string, limit?: number): Promise<ExecutionFailureView[]> {
    return this.deps.queries.listExecutionFailures(runId, limit);
  }
}
