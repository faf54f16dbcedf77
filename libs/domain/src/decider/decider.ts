import type { DomainEvent } from '@assay/contracts';

/**
 * A stream's behaviour as two pure functions (the Decider pattern, as in Emmett):
 * `decide` turns a command and the current state into new events (or throws an AssayError);
 * `evolve` folds one event into the state. No I/O here: the command handlers in @assay/runs load
 * state from the event store, call decide, and append with the version they read.
 */
export interface Decider<Command, State, Event extends DomainEvent> {
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

export function fold<State, Event extends DomainEvent>(
  decider: Pick<Decider<unknown, State, Event>, 'evolve' | 'initialState'>,
  events: readonly Event[],
  from: State = decider.initialState(),
): State {
  return events.reduce((state, event) => decider.evolve(state, event), from);
}
