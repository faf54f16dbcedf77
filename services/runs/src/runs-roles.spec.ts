import { runsRoles } from './runs-roles';

describe('ASSAY_RUNS_ROLES', () => {
  it('does everything by default', () => {
    expect([...runsRoles({})]).toEqual(['projections', 'relay', 'reconcile']);
    expect([...runsRoles({ ASSAY_RUNS_ROLES: ' ' })]).toEqual(['projections', 'relay', 'reconcile']);
  });

  it('does only the roles named', () => {
    expect([...runsRoles({ ASSAY_RUNS_ROLES: 'relay' })]).toEqual(['relay']);
    expect([...runsRoles({ ASSAY_RUNS_ROLES: 'projections, reconcile' })]).toEqual(['projections', 'reconcile']);
  });

  it('refuses a role it does not know, naming the ones it does', () => {
    expect(() => runsRoles({ ASSAY_RUNS_ROLES: 'projections,relais' })).toThrow(/unknown roles \(relais\).*projections, relay, reconcile/);
  });
});
