import { subscriptionSubjects, topicMatches, validateTopic } from './topic';

describe('broadcast topics', () => {
  it.each([
    ['run-updated', 'run-updated', true],
    ['run-updated', 'run-updated.r1', true],
    ['run-updated', 'run-updated.r1.x', true],
    ['run-updated', 'run-updatedness', false],
    ['run-updated.r1', 'run-updated', false],
    ['run-updated.*', 'run-updated.r1', true],
    ['run-updated.*', 'run-updated', false],
    ['run-updated.*', 'run-updated.r1.x', true],
    ['*.r1', 'run-updated.r1', true],
    ['run-updated.>', 'run-updated.r1.x', true],
    ['run-updated.>', 'run-updated', false],
  ])('pattern %s matches %s: %s', (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it('subscribes to the subject and everything below it, unless the pattern ends in >', () => {
    expect(subscriptionSubjects('p.broadcast', 'run-updated')).toEqual(['p.broadcast.run-updated', 'p.broadcast.run-updated.>']);
    expect(subscriptionSubjects('p.broadcast', 'a.>')).toEqual(['p.broadcast.a.>']);
  });

  it('rejects empty tokens, spaces, and wildcards where they cannot go', () => {
    expect(() => validateTopic('a..b', true)).toThrow();
    expect(() => validateTopic('a b', true)).toThrow();
    expect(() => validateTopic('a.>.b', true)).toThrow();
    expect(() => validateTopic('a.*', false)).toThrow();
    expect(() => validateTopic('run-updated.123e4567-e89b', false)).not.toThrow();
  });
});
