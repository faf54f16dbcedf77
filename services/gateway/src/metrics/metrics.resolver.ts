import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { METRIC_TEMPLATES, type MetricTemplate } from '@assay/domain';
import type { MetricVersionView, MetricView, RunView, UpdateMetricInput } from '@assay/runs';
import { assertProjectAccess, CurrentPrincipal, type Principal } from '../auth/access';
import { metricNotFound, requireProject } from '../auth/scoped';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL } from '../resolvers';

/**
 * Metrics: list, versions, updates and the built-in templates. Authorization: a metric of another
 * project answers exactly as a missing one (METRIC_NOT_FOUND, or PROJECT_NOT_FOUND for the list).
 * metric(id) and createMetric live with the runs resolvers.
 */
@Resolver()
@UseFilters(PassErrorsToGraphQL)
export class MetricsResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Query('metrics')
  async metrics(@CurrentPrincipal() principal: Principal, @Args('projectId') projectId: string): Promise<MetricView[]> {
    await requireProject(this.deps, principal, projectId);
    return this.deps.queries.listMetrics(projectId);
  }

  @Query('metricTemplates')
  metricTemplates(@CurrentPrincipal() _principal: Principal): readonly MetricTemplate[] {
    return METRIC_TEMPLATES;
  }

  /** Authorized against the metric's own stream, so a metric is editable as soon as createMetric returned. */
  @Mutation('updateMetric')
  updateMetric(@CurrentPrincipal() principal: Principal, @Args('input') input: UpdateMetricInput): Promise<MetricView> {
    return this.deps.commands.updateMetric(input, {
      authorize: (projectId) => assertProjectAccess(principal, projectId, () => metricNotFound(input.metricId)),
    });
  }
}

/** The parent metric was authorized where it was read. */
@Resolver('Metric')
@UseFilters(PassErrorsToGraphQL)
export class MetricVersionsResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @ResolveField('versions')
  versions(@Parent() metric: MetricView): Promise<MetricVersionView[]> {
    return this.deps.queries.listMetricVersions(metric.id);
  }
}

/** The parent run was authorized where it was read. */
@Resolver('Run')
@UseFilters(PassErrorsToGraphQL)
export class RunMetricVersionsResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @ResolveField('metricVersions')
  metricVersions(@Parent() run: RunView): Promise<MetricVersionView[]> {
    return this.deps.queries.getRunMetricVersions(run.id);
  }
}
