import { scoringConsumerOptions } from './scoring-config';

describe('scoringConsumerOptions', () => {
  it('has sensible defaults', () => {
    expect(scoringConsumerOptions({})).toEqual({
      name: 'scoring',
      eventTypes: ['RecordAdded'],
      maxInFlight: 256,
      maxBatch: 200,
      ackWaitMs: 30_000,
      maxDeliver: 5,
      backoffMs: [1_000, 5_000, 15_000, 30_000],
      // room for 8 scoring processes sharing the durable consumer
      maxAckPending: 2048,
    });
  });

  it('reads every option from the environment', () => {
    expect(
      scoringConsumerOptions({
        SCORING_MAX_IN_FLIGHT: '512',
        SCORING_MAX_BATCH: ' 100 ',
        SCORING_ACK_WAIT_MS: '60000',
        SCORING_MAX_DELIVER: '3',
        SCORING_BACKOFF_MS: '500, 2000',
        SCORING_MAX_ACK_PENDING: '2048',
      }),
    ).toEqual({
      name: 'scoring',
      eventTypes: ['RecordAdded'],
      maxInFlight: 512,
      maxBatch: 100,
      ackWaitMs: 60_000,
      maxDeliver: 3,
      backoffMs: [500, 2_000],
      maxAckPending: 2048,
    });
  });

  it('treats empty values as unset', () => {
    expect(scoringConsumerOptions({ SCORING_MAX_BATCH: '', SCORING_BACKOFF_MS: '  ' })).toMatchObject({ maxBatch: 200, backoffMs: [1_000, 5_000, 15_000, 30_000] });
  });

  it.each([
    [{ SCORING_MAX_IN_FLIGHT: '0' }, /SCORING_MAX_IN_FLIGHT="0" is not a positive whole number; unset it for the default 256/],
    [{ SCORING_MAX_BATCH: '12.5' }, /SCORING_MAX_BATCH="12.5" is not a positive whole number/],
    [{ SCORING_ACK_WAIT_MS: '30s' }, /SCORING_ACK_WAIT_MS="30s" is not a positive whole number/],
    [{ SCORING_MAX_DELIVER: '-1' }, /SCORING_MAX_DELIVER="-1" is not a positive whole number/],
    [{ SCORING_BACKOFF_MS: '1s,5s' }, /SCORING_BACKOFF_MS="1s,5s" must list delays in milliseconds/],
    [{ SCORING_MAX_IN_FLIGHT: '10', SCORING_MAX_BATCH: '20' }, /SCORING_MAX_BATCH \(20\) exceeds SCORING_MAX_IN_FLIGHT \(10\)/],
  ])('refuses %j', (env, message) => {
    expect(() => scoringConsumerOptions(env)).toThrow(message);
  });
});
