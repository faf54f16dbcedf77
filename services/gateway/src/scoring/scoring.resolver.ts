import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { AssayError } from '@assay/contracts';
import type { RunCostView, RunView, ScoreView } from '@assay/runs';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL } from '../resolvers';
import { assertProjectAccess, CurrentPrincipal, type Principal } from '../auth/access';
import { runNotFound } from '../auth/scoped';

const NO_COST: RunCostView = { systemTokens: 0, systemCost: 0, judgeTokens: 0, judgeCost: 0, total: 0, perMetric: [] };

/** rescoreRun (issue 4). A run of another project is refused exactly as a missing one. */
@Resolver()
@UseFilters(PassErrorsToGraphQL)
export class RescoreResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Mutation('rescoreRun')
  rescoreRun(
    @CurrentPrincipal() principal: Principal,
    @Args('runId') runId: string,
    @Args('metricIds') metricIds?: string[] | null,
    @Args('bypassCache') bypassCache?: boolean | null,
  ): Promise<RunView> {
    const { commands } = this.deps;
    if (!commands.rescoreRun) throw new AssayError('UNAVAILABLE', 'Re-scoring is not available in this gateway: its runs backend does not offer it.');
    // Authorized on the run's own stream, before anything is appended.
    return commands.rescoreRun({ runId, metricIds, bypassCache }, (projectId) => assertProjectAccess(principal, projectId, () => runNotFound(runId)));
  }
}

/** The parent run was authorized where it was read. */
@Resolver('Run')
@UseFilters(PassErrorsToGraphQL)
export class RunCostResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @ResolveField('cost')
  async cost(@Parent() run: RunView): Promise<RunCostView> {
    return (await this.deps.queries.getRunCost?.(run.id)) ?? NO_COST;
  }
}

/** Judge fields of a score (null for outcomes without judge calls). */
@Resolver('Score')
export class ScoreJudgeResolver {
  @ResolveField('judgeModel')
  judgeModel(@Parent() score: ScoreView): string | null {
    return score.judge?.model ?? null;
  }

  @ResolveField('tokens')
  tokens(@Parent() score: ScoreView): number | null {
    return score.judge ? score.judge.promptTokens + score.judge.completionTokens : null;
  }

  @ResolveField('promptTokens')
  promptTokens(@Parent() score: ScoreView): number | null {
    return score.judge?.promptTokens ?? null;
  }

  @ResolveField('completionTokens')
  completionTokens(@Parent() score: ScoreView): number | null {
    return score.judge?.completionTokens ?? null;
  }

  @ResolveField('cost')
  cost(@Parent() score: ScoreView): number | null {
    return score.judge?.cost ?? null;
  }

  @ResolveField('cached')
  cached(@Parent() score: ScoreView): boolean | null {
    return score.judge?.cached ?? null;
  }

  @ResolveField('round')
  round(@Parent() score: ScoreView): number {
    return score.round ?? 0;
  }
}
