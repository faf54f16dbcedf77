import type { HeuristicDefinition } from '@assay/contracts';
import { compileHeuristic, scoreHeuristic } from './score-heuristic';

const regex = (params: Record<string, unknown>, extra: Partial<HeuristicDefinition> = {}): HeuristicDefinition => ({ kind: 'REGEX', params, ...extra });

describe('REGEX', () => {
  it.each([
    ['a match anywhere', regex({ pattern: 'Par' }), 'in Paris', 1, 'output matches /Par/'],
    ['no match', regex({ pattern: '^Paris$' }), 'in Paris', 0, "output 'in Paris' does not match /^Paris$/"],
    ['flags', regex({ pattern: '^paris$', flags: 'i' }), 'PARIS', 1, 'output matches /^paris$/i'],
    ['a number output, matched as text', regex({ pattern: '^\\d+$' }), 1234, 1, 'output matches /^\\d+$/'],
    ['an object output, matched as canonical JSON', regex({ pattern: '^\\{"a":1,"b":2\\}$' }), { b: 2, a: 1 }, 1, 'output matches /^\\{"a":1,"b":2\\}$/'],
    ['unicode with the u flag', regex({ pattern: '^\\p{Emoji_Presentation}$', flags: 'u' }), '👍', 1, 'output matches /^\\p{Emoji_Presentation}$/u'],
    ['a nested output field', regex({ pattern: '^[A-D]$' }, { outputField: 'choice' }), { choice: 'B' }, 1, 'output.choice matches /^[A-D]$/'],
    ['a missing output field', regex({ pattern: 'x' }, { outputField: 'choice' }), {}, 0, "output.choice is missing: output has no field 'choice': nothing to match /x/ against"],
  ])('%s', (_name, definition, outputs, value, reasoning) => {
    expect(scoreHeuristic(definition, { outputs, expected: null })).toEqual({ value, reasoning });
  });

  it('gives the same answer every time with the g or y flag (no lastIndex carried over)', () => {
    for (const flags of ['g', 'y']) {
      const score = compileHeuristic(regex({ pattern: 'a', flags }));
      expect([1, 2, 3].map(() => score({ outputs: 'a', expected: null }).value)).toEqual([1, 1, 1]);
    }
  });

  it('answers in linear time where a backtracking engine would run for ages (a pattern cannot stall the worker)', () => {
    // In JavaScript's engine /^(a+)+$/ on 40 a's and a b takes hours; RE2 answers at once.
    const score = compileHeuristic(regex({ pattern: '^(a+)+$' }));
    expect(score({ outputs: `${'a'.repeat(5_000)}b`, expected: null }).value).toBe(0);
    expect(score({ outputs: 'a'.repeat(5_000), expected: null }).value).toBe(1);
  });

  it.each([
    ['\\u00e9', 'café', 1],
    ['\\u{1F44D}', 'ok 👍', 1],
    ['\\\\u00e9', '\\u00e9', 1],
  ])('reads the JavaScript escape %s', (pattern, output, value) => {
    expect(scoreHeuristic(regex({ pattern }), { outputs: output, expected: null }).value).toBe(value);
  });

  it.each([
    ['a pattern that does not compile', { pattern: '(' }, /^params\.pattern "\(" cannot be used: .*missing closing \)/],
    ['a backreference (RE2 has none)', { pattern: '(a)\\1' }, /cannot be used: .*Patterns follow RE2 syntax: as in JavaScript, but without backreferences/],
    ['lookahead (RE2 has none)', { pattern: 'a(?=b)' }, /cannot be used: .*without backreferences \(\\1\) or lookaround/],
    ['no pattern', {}, /^REGEX needs params\.pattern/],
    ['a pattern that is not a string', { pattern: 42 }, /^REGEX needs params\.pattern/],
    ['unknown flags', { pattern: 'a', flags: 'q' }, /^params\.flags "q" is not valid: use each of i, m, s, y at most once/],
    ['a flag twice', { pattern: 'a', flags: 'ii' }, /^params\.flags "ii" is not valid/],
    ['flags that are not a string', { pattern: 'a', flags: true }, /^params\.flags must be a string/],
  ])('rejects %s with METRIC_CONFIG_INVALID', (_name, params, message) => {
    expect(() => compileHeuristic(regex(params))).toThrow(expect.objectContaining({ code: 'METRIC_CONFIG_INVALID', message: expect.stringMatching(message) }));
  });
});
