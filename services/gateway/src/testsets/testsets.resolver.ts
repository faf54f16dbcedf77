import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AssayError, MAX_TESTCASES_PER_CALL } from '@assay/contracts';
import type { CreateTestsetInput, TestcaseInput, TestcaseView, TestsetsApi, TestsetView, UpdateTestsetInput } from '@assay/testsets';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL, toConnection, type Connection } from '../resolvers';
import { assertProjectAccess, CurrentPrincipal, type Principal } from '../auth/access';
import { requireProject, visibleTo } from '../auth/scoped';
import { catalogUnavailable, testsetNotFound } from '../catalog/not-found';

export function testsetsOf(deps: GatewayDeps): TestsetsApi {
  if (!deps.testsets) throw catalogUnavailable('Testsets');
  return deps.testsets;
}

/** For operations on a testset: the testset, or TESTSET_NOT_FOUND when it is missing or of another project. */
export async function requireTestset(deps: GatewayDeps, principal: Principal, testsetId: string): Promise<TestsetView> {
  const testset = await testsetsOf(deps).queries.getTestset(testsetId);
  assertProjectAccess(principal, testset?.projectId, () => testsetNotFound(testsetId));
  return testset!;
}

@Resolver('Testset')
@UseFilters(PassErrorsToGraphQL)
export class TestsetsResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Query('testset')
  async testset(@CurrentPrincipal() principal: Principal, @Args('id') id: string): Promise<TestsetView | null> {
    return visibleTo(principal, await testsetsOf(this.deps).queries.getTestset(id));
  }

  @Query('testsets')
  async testsets(@CurrentPrincipal() principal: Principal, @Args('projectId') projectId: string): Promise<TestsetView[]> {
    await requireProject(this.deps, principal, projectId);
    return testsetsOf(this.deps).queries.listTestsets(projectId);
  }

  @Mutation('createTestset')
  async createTestset(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateTestsetInput): Promise<TestsetView> {
    await requireProject(this.deps, principal, input.projectId);
    return testsetsOf(this.deps).commands.createTestset(input);
  }

  @Mutation('updateTestset')
  async updateTestset(@CurrentPrincipal() principal: Principal, @Args('id') id: string, @Args('input') input: UpdateTestsetInput): Promise<TestsetView> {
    await requireTestset(this.deps, principal, id);
    return testsetsOf(this.deps).commands.updateTestset(id, input);
  }

  @Mutation('addTestcases')
  async addTestcases(@CurrentPrincipal() principal: Principal, @Args('testsetId') testsetId: string, @Args('items') items: TestcaseInput[]): Promise<TestcaseView[]> {
    await requireTestset(this.deps, principal, testsetId);
    if (items.length > MAX_TESTCASES_PER_CALL) {
      throw new AssayError(
        'TOO_MANY_TESTCASES',
        `addTestcases accepts at most ${MAX_TESTCASES_PER_CALL} testcases per call and got ${items.length}: nothing was added. Send batches of ${MAX_TESTCASES_PER_CALL} or fewer, or import a file (POST /testsets/{id}/import).`,
        { max: MAX_TESTCASES_PER_CALL, received: items.length },
      );
    }
    return testsetsOf(this.deps).commands.addTestcases(testsetId, items);
  }

  @ResolveField('testcases')
  async testcases(@Parent() testset: TestsetView, @Args('first') first?: number | null, @Args('after') after?: string | null): Promise<Connection<TestcaseView>> {
    return toConnection(await testsetsOf(this.deps).queries.listTestcases(testset.id, { first, after }));
  }
}
