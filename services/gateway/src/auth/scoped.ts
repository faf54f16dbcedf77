import { AssayError } from '@assay/contracts';
import type { RunView } from '@assay/runs';
import type { GatewayDeps } from '../deps';
import { assertProjectAccess, canAccessProject, type Principal } from './access';

/**
 * The errors the gateway answers for ids a caller cannot see: the same for a missing object and
 * for one of another project, to the letter (only the id differs), so a key of project A learns
 * nothing about project B. Use these (not the backend's) at every entry point.
 */
export const projectNotFound = (projectId: string) =>
  new AssayError('PROJECT_NOT_FOUND', `Project "${projectId}" does not exist: check the project id (createProject returns it).`, { projectId });
export const runNotFound = (runId: string) =>
  new AssayError('RUN_NOT_FOUND', `Run "${runId}" does not exist: check the run id (createRun returns it).`, { runId });
export const metricNotFound = (metricId: string) =>
  new AssayError('METRIC_NOT_FOUND', `Metric "${metricId}" does not exist: check the metric id (createMetric returns it).`, { metricId });
export const apiKeyNotFound = (keyId: string) =>
  new AssayError('API_KEY_NOT_FOUND', `API key "${keyId}" does not exist: check the key id (apiKeys lists them).`, { keyId });

/**
 * For operations that name a project: refuses a foreign project like a missing one, and checks
 * that the project exists (from its stream, so a project is usable as soon as createProject has
 * returned). A project key's own project always exists.
 */
export async function requireProject(deps: GatewayDeps, principal: Principal, projectId: string): Promise<void> {
  assertProjectAccess(principal, projectId, () => projectNotFound(projectId));
  if (principal.kind === 'admin' && !(await deps.access.projectExists(projectId))) throw projectNotFound(projectId);
}

/** For operations on a run: the run, or RUN_NOT_FOUND when it is missing or of another project. */
export async function requireRun(deps: GatewayDeps, principal: Principal, runId: string): Promise<RunView> {
  const run = await deps.queries.getRun(runId);
  assertProjectAccess(principal, run?.projectId, () => runNotFound(runId));
  return run!;
}

/** For reads that answer null for a missing id: null for a foreign object as well. */
export function visibleTo<T extends { projectId: string }>(principal: Principal, object: T | null): T | null {
  return object && canAccessProject(principal, object.projectId) ? object : null;
}
