import { Inject, UseFilters } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { ApiKeyView, NewApiKeyView } from '@assay/access';
import { GATEWAY_DEPS, type GatewayDeps } from '../deps';
import { PassErrorsToGraphQL } from '../resolvers';
import { assertAdmin, CurrentPrincipal, type Principal } from '../auth/access';
import { apiKeyNotFound, requireProject } from '../auth/scoped';

/**
 * API key management. Who may do what:
 * - an admin key: everything, admin keys included;
 * - a project key: create, list and revoke keys of its own project (it holds every right on that
 *   project already, so this grants nothing new, and lets a team rotate its CI key without an
 *   admin). It cannot make admin keys, list them, or see that a key of another project exists:
 *   such ids answer API_KEY_NOT_FOUND, as missing ones do. Every key records the key that created
 *   or revoked it (ApiKeyCreated.createdByKeyId, ApiKeyRevoked.revokedByKeyId).
 */
@Resolver()
@UseFilters(PassErrorsToGraphQL)
export class ApiKeysResolver {
  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  @Query('apiKeys')
  async apiKeys(@CurrentPrincipal() principal: Principal, @Args('projectId') projectId?: string | null): Promise<ApiKeyView[]> {
    if (projectId === null || projectId === undefined) assertAdmin(principal);
    else await requireProject(this.deps, principal, projectId);
    return this.deps.access.listApiKeys(projectId ?? null);
  }

  @Mutation('createApiKey')
  async createApiKey(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: { projectId?: string | null; name: string },
  ): Promise<NewApiKeyView> {
    const projectId = input.projectId ?? null;
    if (projectId === null) assertAdmin(principal);
    else await requireProject(this.deps, principal, projectId);
    return this.deps.access.createApiKey({ projectId, name: input.name, createdByKeyId: principal.keyId });
  }

  @Mutation('revokeApiKey')
  async revokeApiKey(@CurrentPrincipal() principal: Principal, @Args('id') id: string): Promise<ApiKeyView> {
    const key = await this.deps.access.getApiKey(id);
    const visible = key && (principal.kind === 'admin' || (key.projectId !== null && key.projectId === principal.projectId));
    if (!visible) throw apiKeyNotFound(id);
    return this.deps.access.revokeApiKey(id, principal.keyId);
  }
}
