import { RELAYED_EVENT_TYPES } from '@assay/contracts';
import { relayEventTypes } from './relay-event-types';

describe('ASSAY_RELAY_EVENT_TYPES', () => {
  it('publishes what Assay’s JetStream consumers read by default, everything with "all"', () => {
    expect(relayEventTypes({})).toEqual({ types: RELAYED_EVENT_TYPES, missingConsumed: [] });
    expect(relayEventTypes({ ASSAY_RELAY_EVENT_TYPES: 'all' })).toEqual({ types: undefined, missingConsumed: [] });
  });

  it('publishes the types named, and tells which consumed ones they leave out', () => {
    expect(relayEventTypes({ ASSAY_RELAY_EVENT_TYPES: 'RecordAdded, ScoreRecorded' })).toEqual({
      types: ['RecordAdded', 'ScoreRecorded'],
      missingConsumed: RELAYED_EVENT_TYPES.filter((type) => type !== 'RecordAdded'),
    });
  });

  it('refuses a name that is no event type, at start', () => {
    expect(() => relayEventTypes({ ASSAY_RELAY_EVENT_TYPES: 'RecordAdded,RecordAded' })).toThrow(/no such event type: RecordAded/);
  });
});
