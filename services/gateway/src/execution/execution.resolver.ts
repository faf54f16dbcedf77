import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Parent, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import { AssayError } from '@assay/contracts';
import { runPhase, type RunPhase } from '@assay/domain';
import type { ExecutionApi, KickoffRunInput, PlaygroundInput, PlaygroundUpdate } from '@assay/execution';
import type { ExecutionFailureView, RunView } from '@assay/runs';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL } from '../resolvers';
import { CurrentPrincipal, type Principal } from '../auth/access';
import { requireProject, requireRun } from '../auth/scoped';

function executionOf(deps: GatewayDeps): ExecutionApi {
  if (!deps.execution) throw new AssayError('UNAVAILABLE', 'Runs the server executes (kickoffRun, runAgain, playground) are not available in this gateway: it was started without them.');
  return deps.execution;
}

/** kickoffRun, runAgain and the playground. Every id in an input must be of the caller's project: others answer as missing ones. */
@Resolver()
@UseFilters(PassErrorsToGraphQL)
export class ExecutionResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Mutation('kickoffRun')
  async kickoffRun(@CurrentPrincipal() principal: Principal, @Args('input') input: KickoffRunInput): Promise<RunView> {
    await requireProject(this.deps, principal, input.projectId);
    return executionOf(this.deps).kickoffRun(input);
  }

  @Mutation('runAgain')
  async runAgain(@CurrentPrincipal() principal: Principal, @Args('runId') runId: string): Promise<RunView> {
    await requireRun(this.deps, principal, runId);
    return executionOf(this.deps).runAgain(runId);
  }

  /** The input is checked before the first push (a refusal is the subscription's error); then the session streams. */
  @Subscription('playground', { resolve: (update: PlaygroundUpdate) => update })
  async playground(@CurrentPrincipal() principal: Principal, @Args('input') input: PlaygroundInput): Promise<AsyncIterableIterator<PlaygroundUpdate>> {
    await requireProject(this.deps, principal, input.projectId);
    return executionOf(this.deps).playground(input);
  }
}

/** Run fields of issue 4. The run's project is already checked by whoever returned it. */
@Resolver('Run')
@UseFilters(PassErrorsToGraphQL)
export class RunExecutionResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @ResolveField('source')
  source(@Parent() run: RunView): string {
    return run.source ?? 'API';
  }

  @ResolveField('phase')
  phase(@Parent() run: RunView): RunPhase {
    return (
      run.phase ??
      runPhase({ numRecords: run.numRecords, numMetrics: run.metrics.length, numScores: run.numScores, numFailures: run.numFailures, source: run.source, numExpectedRecords: run.numExpectedRecords })
    );
  }

  @ResolveField('numExecutionFailures')
  numExecutionFailures(@Parent() run: RunView): number {
    return run.numExecutionFailures ?? 0;
  }

  @ResolveField('executionFailures')
  async executionFailures(@Parent() run: RunView, @Args('first') first?: number | null): Promise<ExecutionFailureView[]> {
    if (!run.numExecutionFailures || !this.deps.execution) return [];
    const limit = first ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AssayError('BAD_USER_INPUT', `first must be 1 to 1000 (got ${first}).`);
    return this.deps.execution.executionFailures(run.id, limit);
  }
}
