import { Catch, Inject, UseFilters, type ExceptionFilter } from '@nestjs/common';
import { Args, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import { AssayError, MAX_RECORDS_PER_CALL } from '@assay/contracts';
import type {
  CreateMetricInput,
  CreateRunInput,
  MetricAggregateView,
  MetricView,
  Page,
  ProjectView,
  RecordInput,
  RecordView,
  RunView,
} from '@assay/runs';
import { GATEWAY_DEPS, type GatewayDeps } from './deps';
import { RunUpdatesHub } from './run-updates';
import { assertAdmin, canAccessProject, CurrentPrincipal, type Principal } from './auth/access';
import { requireProject, requireRun, runNotFound, visibleTo } from './auth/scoped';

/** A Relay-style connection from a Page. */
export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

export function toConnection<T>(page: Page<T>): Connection<T> {
  return {
    edges: page.items.map(({ node, cursor }) => ({ cursor, node })),
    pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
  };
}

/**
 * Hands resolver errors straight back to GraphQL. Without it Nest's default handler logs every
 * thrown error at error level, user errors included; the gateway logs operations itself (one line
 * per failed operation, at error level only for internal errors: see errors.ts).
 */
@Catch()
export class PassErrorsToGraphQL implements ExceptionFilter {
  catch(exception: unknown): never {
    throw exception;
  }
}

@Resolver()
@UseFilters(PassErrorsToGraphQL)
export class RootResolver {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(RunUpdatesHub) private readonly hub: RunUpdatesHub,
  ) {}

  // Authorization: every operation takes the caller's principal. An object of another project
  // answers exactly as a missing id does (null, or the same *_NOT_FOUND error): see auth/scoped.ts.

  @Query('project')
  async project(@CurrentPrincipal() principal: Principal, @Args('id') id: string): Promise<ProjectView | null> {
    if (!canAccessProject(principal, id)) return null;
    return this.deps.queries.getProject(id);
  }

  @Query('metric')
  async metric(@CurrentPrincipal() principal: Principal, @Args('id') id: string): Promise<MetricView | null> {
    return visibleTo(principal, await this.deps.queries.getMetric(id));
  }

  @Query('run')
  async run(@CurrentPrincipal() principal: Principal, @Args('id') id: string): Promise<RunView | null> {
    return visibleTo(principal, await this.deps.queries.getRun(id));
  }

  @Query('runs')
  async runs(
    @CurrentPrincipal() principal: Principal,
    @Args('projectId') projectId: string,
    @Args('first') first?: number | null,
    @Args('after') after?: string | null,
  ): Promise<Connection<RunView>> {
    await requireProject(this.deps, principal, projectId);
    return toConnection(await this.deps.queries.listRuns(projectId, { first, after }));
  }

  @Mutation('createProject')
  createProject(@CurrentPrincipal() principal: Principal, @Args('input') input: { name: string }): Promise<ProjectView> {
    assertAdmin(principal);
    return this.deps.commands.createProject({ name: input.name });
  }

  @Mutation('createMetric')
  async createMetric(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateMetricInput): Promise<MetricView> {
    await requireProject(this.deps, principal, input.projectId);
    return this.deps.commands.createMetric(input);
  }

  @Mutation('createRun')
  async createRun(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: CreateRunInput,
  ): Promise<RunView> {
    // Metrics (and anything else the input names) must be of this project: the backend refuses
    // others exactly as missing ones.
    await requireProject(this.deps, principal, input.projectId);
    return this.deps.commands.createRun({
      projectId: input.projectId,
      metricIds: input.metricIds,
      notes: input.notes,
      testsetId: input.testsetId,
      systemVersionId: input.systemVersionId,
      source: input.source,
    });
  }

  @Mutation('addRecords')
  async addRecords(
    @CurrentPrincipal() principal: Principal,
    @Args('runId') runId: string,
    @Args('records') records: RecordInput[],
    @Args('idempotencyKey') idempotencyKey?: string | null,
  ): Promise<RecordView[]> {
    await requireRun(this.deps, principal, runId);
    if (records.length > MAX_RECORDS_PER_CALL) {
      throw new AssayError(
        'TOO_MANY_RECORDS',
        `addRecords accepts at most ${MAX_RECORDS_PER_CALL} records per call and got ${records.length}: nothing was added. Send them in batches of ${MAX_RECORDS_PER_CALL} or fewer.`,
        { max: MAX_RECORDS_PER_CALL, received: records.length },
      );
    }
    return this.deps.commands.addRecords(runId, records, { idempotencyKey });
  }

  @Mutation('updateRunNotes')
  async updateRunNotes(@CurrentPrincipal() principal: Principal, @Args('runId') runId: string, @Args('notes') notes: string): Promise<RunView> {
    await requireRun(this.deps, principal, runId);
    return this.deps.commands.updateRunNotes(runId, notes);
  }

  /**
   * The current snapshot first, then live updates. The stream is registered before the snapshot
   * is read, so an update that lands in between is not lost (and never overtaken by the older snapshot).
   */
  @Subscription('runUpdated', { resolve: (view: RunView) => view })
  async runUpdated(@CurrentPrincipal() principal: Principal, @Args('runId') runId: string): Promise<AsyncIterableIterator<RunView>> {
    const stream = this.hub.open(runId);
    try {
      const snapshot = visibleTo(principal, await this.deps.queries.getRun(runId));
      if (!snapshot) throw runNotFound(runId);
      stream.offer(snapshot);
      return stream;
    } catch (error) {
      stream.close();
      throw error;
    }
  }
}

@Resolver('Run')
@UseFilters(PassErrorsToGraphQL)
export class RunResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @ResolveField('updatedAt')
  updatedAt(@Parent() run: RunView): Date {
    return run.updatedAt ?? run.lastEventAt;
  }

  @ResolveField('project')
  project(@Parent() run: RunView): Promise<ProjectView | null> {
    return this.deps.queries.getProject(run.projectId);
  }

  @ResolveField('aggregates')
  aggregates(@Parent() run: RunView): Promise<MetricAggregateView[]> {
    return this.deps.queries.getAggregates(run.id);
  }

  @ResolveField('records')
  async records(
    @Parent() run: RunView,
    @Args('first') first?: number | null,
    @Args('after') after?: string | null,
  ): Promise<Connection<RecordView>> {
    return toConnection(await this.deps.queries.listRecords(run.id, { first, after }));
  }
}
