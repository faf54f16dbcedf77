import type { Decider } from '@assay/domain';

/**
 * Given/when/then specs for deciders:
 *   spec(runDecider).given([runCreated]).when(addRecords).then([recordAdded])
 *   spec(runDecider).given([]).when(addRecords).thenThrows('RUN_NOT_FOUND')
 */
export function deciderSpec<C, S, E extends { type: string }>(decider: Decider<C, S, E & never> | Decider<C, S, any>) {
  return {
    given(events: readonly E[]) {
      return {
        when(command: C) {
          const run = () => decider.decide(command, events.reduce((s: S, e) => decider.evolve(s, e as never), decider.initialState()));
          return {
            then(expected: readonly E[]) {
              expect(run()).toEqual(expected);
            },
            thenThrows(code: string) {
              expect(run).toThrow(expect.objectContaining({ code }) as never);
            },
            result: run,
          };
        },
      };
    },
  };
}
