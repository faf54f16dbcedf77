import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { CreateSystemInput, CreateSystemVersionInput, SystemsApi, SystemVersionView, SystemView } from '@assay/systems';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL } from '../resolvers';
import { assertProjectAccess, CurrentPrincipal, type Principal } from '../auth/access';
import { requireProject, visibleTo } from '../auth/scoped';
import { catalogUnavailable, systemNotFound } from '../catalog/not-found';

export function systemsOf(deps: GatewayDeps): SystemsApi {
  if (!deps.systems) throw catalogUnavailable('Systems');
  return deps.systems;
}

/** For operations on a system: the system, or SYSTEM_NOT_FOUND when it is missing or of another project. */
async function requireSystem(deps: GatewayDeps, principal: Principal, systemId: string): Promise<SystemView> {
  const system = await systemsOf(deps).queries.getSystem(systemId);
  assertProjectAccess(principal, system?.projectId, () => systemNotFound(systemId));
  return system!;
}

@Resolver('System')
@UseFilters(PassErrorsToGraphQL)
export class SystemsResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Query('system')
  async system(@CurrentPrincipal() principal: Principal, @Args('id') id: string): Promise<SystemView | null> {
    return visibleTo(principal, await systemsOf(this.deps).queries.getSystem(id));
  }

  @Query('systems')
  async systems(@CurrentPrincipal() principal: Principal, @Args('projectId') projectId: string): Promise<SystemView[]> {
    await requireProject(this.deps, principal, projectId);
    return systemsOf(this.deps).queries.listSystems(projectId);
  }

  @Query('systemVersion')
  async systemVersion(@CurrentPrincipal() principal: Principal, @Args('id') id: string): Promise<SystemVersionView | null> {
    return visibleTo(principal, await systemsOf(this.deps).queries.getSystemVersion(id));
  }

  @Mutation('createSystem')
  async createSystem(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateSystemInput): Promise<SystemView> {
    await requireProject(this.deps, principal, input.projectId);
    return systemsOf(this.deps).commands.createSystem(input);
  }

  @Mutation('createSystemVersion')
  async createSystemVersion(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateSystemVersionInput): Promise<SystemVersionView> {
    await requireSystem(this.deps, principal, input.systemId);
    return systemsOf(this.deps).commands.createSystemVersion(input);
  }

  @Mutation('setProductionVersion')
  async setProductionVersion(@CurrentPrincipal() principal: Principal, @Args('systemId') systemId: string, @Args('versionId') versionId: string): Promise<SystemView> {
    await requireSystem(this.deps, principal, systemId);
    return systemsOf(this.deps).commands.setProductionVersion(systemId, versionId);
  }

  @ResolveField('versions')
  versions(@Parent() system: SystemView): Promise<SystemVersionView[]> {
    return systemsOf(this.deps).queries.listSystemVersions(system.id);
  }

  @ResolveField('productionVersion')
  productionVersion(@Parent() system: SystemView): Promise<SystemVersionView | null> {
    return system.productionVersionId ? systemsOf(this.deps).queries.getSystemVersion(system.productionVersionId) : Promise.resolve(null);
  }
}

@Resolver('SystemVersion')
@UseFilters(PassErrorsToGraphQL)
export class SystemVersionResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @ResolveField('system')
  system(@Parent() version: SystemVersionView): Promise<SystemView | null> {
    return systemsOf(this.deps).queries.getSystem(version.systemId);
  }
}
