import { AssayError } from '@assay/contracts';
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';

/**
 * Who is calling, as established from the API key (`Authorization: Bearer <key>` on HTTP, the
 * `connection_init` payload on graphql-ws). An admin key reaches every project; a project key only
 * its own.
 */
export type Principal = { readonly kind: 'admin'; readonly keyId: string } | { readonly kind: 'project'; readonly keyId: string; readonly projectId: string };

/**
 * Refuses access to an object of `projectId` (or, with `projectId` null, to an object that does
 * not exist) with exactly the error a missing id gets, so a key of project A cannot even learn
 * whether an object of project B exists.
 */
export function assertProjectAccess(principal: Principal, projectId: string | null | undefined, notFound: () => AssayError): void {
  if (!projectId) throw notFound();
  if (principal.kind === 'admin') return;
  if (principal.projectId !== projectId) throw notFound();
}

/** Whether the principal reaches objects of `projectId` (for reads that answer null instead of throwing). */
export function canAccessProject(principal: Principal, projectId: string | null | undefined): boolean {
  if (!projectId) return false;
  return principal.kind === 'admin' || principal.projectId === projectId;
}

export function assertAdmin(principal: Principal): void {
  if (principal.kind !== 'admin') {
    throw new AssayError('FORBIDDEN', 'This operation needs an admin API key.');
  }
}

/** The principal of the current GraphQL operation (HTTP or WebSocket) or controller route (HTTP). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  let principal: Principal | undefined;
  if (context.getType() === 'http') {
    principal = context.switchToHttp().getRequest<{ principal?: Principal }>().principal;
  } else {
    const gql = GqlExecutionContext.create(context).getContext<{ principal?: Principal; req?: { principal?: Principal } }>();
    principal = gql.principal ?? gql.req?.principal;
  }
  if (!principal) throw new AssayError('UNAUTHENTICATED', 'Send an API key: `Authorization: Bearer <key>` (or `{ "authorization": "Bearer <key>" }` in the graphql-ws connection_init payload).');
  return principal;
});
