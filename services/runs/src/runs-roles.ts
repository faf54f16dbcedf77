import { AssayError } from '@assay/contracts';
import { namesSetting } from '@assay/runtime';

export const RUNS_ROLES = ['projections', 'relay', 'reconcile'] as const;
export type RunsRole = (typeof RUNS_ROLES)[number];

/**
 * ASSAY_RUNS_ROLES: what a runs process does, comma-separated (default: all three). Projector and
 * relay each follow the log on one event loop; on a busy log a process for each
 * (`projections,reconcile` and `relay`) keeps the relay's publishing from waiting behind the
 * projector's work, and the other way round (bench/README.md: push latency about halved).
 */
export function runsRoles(env: NodeJS.ProcessEnv): ReadonlySet<RunsRole> {
  const named = namesSetting(env, 'ASSAY_RUNS_ROLES');
  const unknown = named.filter((role) => !(RUNS_ROLES as readonly string[]).includes(role));
  if (unknown.length > 0) {
    throw new AssayError('BAD_USER_INPUT', `ASSAY_RUNS_ROLES names unknown roles (${unknown.join(', ')}): use any of ${RUNS_ROLES.join(', ')}.`);
  }
  return new Set((named.length > 0 ? named : RUNS_ROLES) as RunsRole[]);
}
