import { Inject, UseFilters } from '@nestjs/common';
import { Parent, ResolveField, Resolver } from '@nestjs/graphql';
import type { RunView } from '@assay/runs';
import type { SystemVersionView } from '@assay/systems';
import type { TestsetView } from '@assay/testsets';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL } from '../resolvers';

/** A run bound to the catalog (issue 3): createRun takes a testset and a system version of its project. */
export const RUN_CATALOG_TYPE_DEFS = /* GraphQL */ `
  extend input CreateRunInput {
    "A testset of the same project: the run evaluates it (numExpectedRecords is its size now), and records may carry its testcase ids (no others)."
    testsetId: ID
    "A system version of the same project: what the run evaluates."
    systemVersionId: ID
  }

  extend type Run {
    testsetId: ID
    testset: Testset
    "The testset's size when the run was made; null without a testset."
    numExpectedRecords: Int
    systemVersionId: ID
    systemVersion: SystemVersion
  }
`;

/** The run's own project is already checked; its testset and system version are of that project (createRun made sure). */
@Resolver('Run')
@UseFilters(PassErrorsToGraphQL)
export class RunCatalogResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @ResolveField('testset')
  async testset(@Parent() run: RunView): Promise<TestsetView | null> {
    if (!run.testsetId || !this.deps.testsets) return null;
    return this.deps.testsets.queries.getTestset(run.testsetId);
  }

  @ResolveField('systemVersion')
  async systemVersion(@Parent() run: RunView): Promise<SystemVersionView | null> {
    if (!run.systemVersionId || !this.deps.systems) return null;
    return this.deps.systems.queries.getSystemVersion(run.systemVersionId);
  }
}
