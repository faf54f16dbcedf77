import type { DomainEvent } from '@assay/contracts';

/** The shape of a decider (see @assay/domain); restated here so the test helpers do not depend on the domain. */
interface Decider<C, S, E> {
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: E): S;
  initialState(): S;
}

/**
 * Given/when/then specs for deciders:
 *   spec(runDecider).given([runCreated]).when(addRecords).then([recordAdded])
 *   spec(runDecider).given([]).when(addRecords).thenThrows('RUN_NOT_FOUND')
 */
export function deciderSpec<C, S, E extends DomainEvent>(decider: Decider<C, S, E>) {
  return {
    given(events: readonly E[]) {
      return {
        when(command: C) {
          const run = () => decider.decide(command, events.reduce((s: S, e) => decider.evolve(s, e), decider.initialState()));
          return {
            then(expected: readonly E[]) {
              expect(run()).toEqual(expected);
            },
            thenThrows(code: string) {
              let thrown: unknown;
              try {
                run();
              } catch (error) {
                thrown = error;
              }
              expect(thrown).toMatchObject({ code });
            },
            result: run,
          };
        },
      };
    },
  };
}
