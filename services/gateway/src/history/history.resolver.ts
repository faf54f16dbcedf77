import { Inject, UseFilters } from '@nestjs/common';
import { Args, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AssayError } from '@assay/contracts';
import type { HistoryApi, MetricComparisonView, MetricHistoryView, RunComparisonView } from '@assay/history';
import type { RunView } from '@assay/runs';
import type { TestcaseChange } from '@assay/analysis';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL } from '../resolvers';
import { CurrentPrincipal, type Principal } from '../auth/access';
import { requireProject, requireRun, runNotFound } from '../auth/scoped';

export const DEFAULT_CHANGES = 1000;
export const MAX_CHANGES = 10_000;

export function historyOf(deps: GatewayDeps): HistoryApi {
  if (!deps.history) throw new AssayError('UNAVAILABLE', 'Run history and comparison are not available in this gateway: it was started without them.');
  return deps.history;
}

export type RunComparisonResult = RunComparisonView & { readonly baseRun: RunView; readonly run: RunView };

@Resolver()
@UseFilters(PassErrorsToGraphQL)
export class HistoryResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Query('runHistory')
  async runHistory(
    @CurrentPrincipal() principal: Principal,
    @Args('projectId') projectId: string,
    @Args('metricIds') metricIds: string[],
    @Args('from') from?: Date | null,
    @Args('to') to?: Date | null,
  ): Promise<MetricHistoryView[]> {
    await requireProject(this.deps, principal, projectId);
    // Metrics are looked up within the project only: another project's is METRIC_NOT_FOUND, as a missing one.
    return historyOf(this.deps).runHistory({ projectId, metricIds, from, to });
  }

  @Query('compareRuns')
  async compareRuns(@CurrentPrincipal() principal: Principal, @Args('baseRunId') baseRunId: string, @Args('runId') runId: string): Promise<RunComparisonResult> {
    const baseRun = await requireRun(this.deps, principal, baseRunId);
    const run = await requireRun(this.deps, principal, runId);
    // An admin key reaches both projects, but runs of two projects do not compare: as if missing.
    if (run.projectId !== baseRun.projectId) throw runNotFound(runId);
    const comparison = await historyOf(this.deps).compareRuns(baseRunId, runId);
    return { ...comparison, baseRun, run };
  }
}

@Resolver('MetricComparison')
@UseFilters(PassErrorsToGraphQL)
export class MetricComparisonResolver {
  @ResolveField('numRegressed')
  numRegressed(@Parent() metric: MetricComparisonView): number {
    return metric.regressed.length;
  }

  @ResolveField('numImproved')
  numImproved(@Parent() metric: MetricComparisonView): number {
    return metric.improved.length;
  }

  @ResolveField('regressed')
  regressed(@Parent() metric: MetricComparisonView, @Args('first') first?: number | null): readonly TestcaseChange[] {
    return metric.regressed.slice(0, changesLimit(first));
  }

  @ResolveField('improved')
  improved(@Parent() metric: MetricComparisonView, @Args('first') first?: number | null): readonly TestcaseChange[] {
    return metric.improved.slice(0, changesLimit(first));
  }
}

function changesLimit(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_CHANGES;
  if (!Number.isInteger(first) || first < 0 || first > MAX_CHANGES) {
    throw new AssayError('BAD_USER_INPUT', `first must be an integer from 0 to ${MAX_CHANGES}.`, { field: 'first', max: MAX_CHANGES });
  }
  return first;
}
