import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AssayError } from '@assay/contracts';
import type { HumanScoreView, RecordView, ReviewApi, RunView, ScoreView, SubmitScoreInput } from '@assay/runs';
import { assertProjectAccess, CurrentPrincipal, type Principal } from '../auth/access';
import { metricNotFound, requireProject } from '../auth/scoped';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL, toConnection, type Connection } from '../resolvers';

/** The same error for a missing record and for one of another project (only the id differs). */
export const recordNotFound = (recordId: string) =>
  new AssayError('RECORD_NOT_FOUND', `Record "${recordId}" does not exist: check the record id (addRecords and Run.records return it).`, { recordId });

function reviewOf(deps: GatewayDeps): ReviewApi {
  if (!deps.review) throw new AssayError('UNAVAILABLE', 'Human review is not available in this gateway: it was started without it.');
  return deps.review;
}

/**
 * Human review. Authorization: a record or metric of another project answers exactly as a missing
 * one (RECORD_NOT_FOUND, METRIC_NOT_FOUND; PROJECT_NOT_FOUND for the queue of another project).
 */
@Resolver()
@UseFilters(PassErrorsToGraphQL)
export class ReviewResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Mutation('submitScore')
  submitScore(@CurrentPrincipal() principal: Principal, @Args('input') input: SubmitScoreInput): Promise<HumanScoreView> {
    // The backend names the record's project (null when there is none) before it changes anything;
    // a metric not pinned by the record's run is METRIC_NOT_FOUND whether it exists elsewhere or not.
    return reviewOf(this.deps).submitScore(
      { recordId: input.recordId, metricId: input.metricId, value: input.value, reasoning: input.reasoning },
      { scoredBy: principal.keyId, authorize: (projectId) => assertProjectAccess(principal, projectId, () => recordNotFound(input.recordId)) },
    );
  }

  @Query('reviewQueue')
  async reviewQueue(
    @CurrentPrincipal() principal: Principal,
    @Args('projectId') projectId: string,
    @Args('metricId') metricId: string,
    @Args('first') first?: number | null,
    @Args('after') after?: string | null,
  ): Promise<Connection<RecordView> & { totalCount: number }> {
    await requireProject(this.deps, principal, projectId);
    const metric = await this.deps.queries.getMetric(metricId);
    if (!metric || metric.projectId !== projectId) throw metricNotFound(metricId);
    if (metric.evalType !== 'HUMAN') {
      throw new AssayError('BAD_USER_INPUT', `Metric "${metric.name}" (${metricId}) is scored automatically (${metric.evalType}): the review queue lists records waiting for HUMAN metrics.`, {
        field: 'metricId',
        evalType: metric.evalType,
      });
    }
    const page = await reviewOf(this.deps).reviewQueue(projectId, metricId, { first, after });
    return { ...toConnection(page), totalCount: page.totalCount };
  }
}

/** Score.source for every score (absent in older views: AUTOMATIC). */
@Resolver('Score')
@UseFilters(PassErrorsToGraphQL)
export class ScoreSourceResolver {
  @ResolveField('source')
  source(@Parent() score: ScoreView): string {
    return score.source ?? 'AUTOMATIC';
  }

  @ResolveField('scoredBy')
  scoredBy(@Parent() score: ScoreView): string | null {
    return score.scoredBy ?? null;
  }
}

/** The parent record was authorized where it was read (its run, or the review queue of its project). */
@Resolver('Record')
@UseFilters(PassErrorsToGraphQL)
export class RecordRunResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @ResolveField('run')
  run(@Parent() record: RecordView): Promise<RunView | null> {
    return this.deps.queries.getRun(record.runId);
  }
}

@Resolver('Run')
@UseFilters(PassErrorsToGraphQL)
export class RunHumanReviewResolver {
  @ResolveField('numHumanMetrics')
  numHumanMetrics(@Parent() run: RunView): number {
    return run.numHumanMetrics ?? run.metrics.filter((m) => m.evalType === 'HUMAN').length;
  }

  @ResolveField('numHumanScores')
  numHumanScores(@Parent() run: RunView): number {
    return run.numHumanScores ?? 0;
  }

  @ResolveField('numAwaitingHuman')
  numAwaitingHuman(@Parent() run: RunView): number {
    return run.numAwaitingHuman ?? 0;
  }
}
