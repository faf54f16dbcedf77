import { assertValidEventData, DomainEvent } from '@assay/contracts';
import type { Decider } from '@assay/domain';
import type { NewEvent, StoredEvent } from '@assay/event-store';

export function toNewEvents(events: readonly DomainEvent[]): NewEvent[] {
  return events.map((event) => {
    // decide() builds events from user input: check them before they become history.
    assertValidEventData(event.type, event.data);
    return { type: event.type, data: event.data };
  });
}

/** Stored events of one stream, as the decider's own event type (they were validated on append). */
export function asDomainEvents<E extends DomainEvent>(events: readonly StoredEvent[]): E[] {
  return events.map((event) => ({ type: event.type, data: event.data }) as E);
}

/** Folds a stream's events into state, returning it with the stream version it reflects. */
export function foldStream<S, E extends DomainEvent>(
  decider: Pick<Decider<unknown, S, E>, 'evolve' | 'initialState'>,
  events: readonly StoredEvent[],
  from: { state: S; version: number } = { state: decider.initialState(), version: 0 },
): { state: S; version: number } {
  let { state, version } = from;
  for (const event of asDomainEvents<E>(events)) state = decider.evolve(state, event);
  if (events.length) version = events[events.length - 1].streamPosition;
  return { state, version };
}
