import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it('takes the entry for the attempt and repeats the last', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay([100, 1000, 5000], n))).toEqual([100, 1000, 5000, 5000]);
  });
  it('is 0 without a backoff list', () => {
    expect(backoffDelay([], 3)).toBe(0);
  });
});
