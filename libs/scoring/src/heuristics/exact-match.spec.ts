import type { HeuristicDefinition } from '@assay/contracts';
import { scoreHeuristic } from './score-heuristic';

const exact = (extra: Partial<HeuristicDefinition> = {}): HeuristicDefinition => ({ kind: 'EXACT_MATCH', ...extra });

describe('EXACT_MATCH', () => {
  it.each([
    ['equal strings', exact(), 'Paris', 'Paris', 1, "output equals 'Paris'"],
    ['different case (case sensitive by default)', exact(), 'paris', 'Paris', 0, "expected 'Paris', got 'paris'"],
    ['different case, caseSensitive false', exact({ params: { caseSensitive: false } }), 'paris', 'PARIS', 1, "output equals 'PARIS' (ignoring case)"],
    ['surrounding whitespace (trimmed by default)', exact(), '  Paris\n', 'Paris', 1, "output equals 'Paris'"],
    ['surrounding whitespace, trim false', exact({ params: { trim: false } }), ' Paris', 'Paris', 0, "expected 'Paris', got ' Paris'"],
    ['inner whitespace is kept', exact(), 'New  York', 'New York', 0, "expected 'New York', got 'New  York'"],
    ['number vs numeric string', exact(), 42, '42', 1, "output equals '42'"],
    ['number vs different number text', exact(), 42, '42.0', 0, "expected '42.0', got 42"],
    ['boolean vs string', exact(), true, 'true', 1, "output equals 'true'"],
    ['objects with keys in another order', exact(), { b: [1, 2], a: 'x' }, { a: 'x', b: [1, 2] }, 1, 'output equals {"a":"x","b":[1,2]}'],
    ['objects that differ', exact(), { a: 1 }, { a: 2 }, 0, 'expected {"a":2}, got {"a":1}'],
    ['arrays in another order', exact(), [1, 2], [2, 1], 0, 'expected [2,1], got [1,2]'],
    ['empty strings', exact(), '', '', 1, "output equals ''"],
    ['composed vs decomposed é (NFC)', exact(), 'caf\u00e9', 'cafe\u0301', 1, "output equals 'cafe\u0301'"],
    ['emoji', exact(), '👍🏽', '👍🏽', 1, "output equals '👍🏽'"],
    ['German sharp s, ignoring case', exact({ params: { caseSensitive: false } }), 'STRASSE', 'straße', 1, "output equals 'straße' (ignoring case)"],
    ['Greek final sigma, ignoring case', exact({ params: { caseSensitive: false } }), 'ΟΔΟΣ', 'οδος', 1, "output equals 'οδος' (ignoring case)"],
  ])('%s', (_name, definition, outputs, expected, value, reasoning) => {
    expect(scoreHeuristic(definition, { inputs: {}, outputs, expected })).toEqual({ value, reasoning });
  });

  it.each([
    ['nested fields on both sides', exact({ outputField: 'choices.0.text', expectedField: 'answer' }), { choices: [{ text: 'Paris' }] }, { answer: 'Paris' }, 1, "output.choices.0.text equals 'Paris'"],
    ['a missing output field', exact({ outputField: 'answer' }), { text: 'Paris' }, 'Paris', 0, "expected 'Paris', but output.answer is missing: output has no field 'answer'"],
    ['a missing expected field', exact({ expectedField: 'answer' }), 'Paris', { other: 1 }, 0, "expected.answer is missing: expected has no field 'answer': nothing to compare with"],
    ['no expected value at all', exact(), 'Paris', null, 0, 'expected is empty (null): nothing to compare with'],
    ['a null output', exact(), null, 'null', 0, "expected 'null', but output is empty (null)"],
    ['an index past the end', exact({ outputField: 'choices.1' }), { choices: ['a'] }, 'b', 0, "expected 'b', but output.choices.1 is missing: output.choices has 1 item(s), no index 1"],
  ])('%s', (_name, definition, outputs, expected, value, reasoning) => {
    expect(scoreHeuristic(definition, { outputs, expected })).toEqual({ value, reasoning });
  });

  it('rejects a caseSensitive that is not a boolean', () => {
    expect(() => scoreHeuristic(exact({ params: { caseSensitive: 'false' } }), { outputs: 'a', expected: 'a' })).toThrow(
      expect.objectContaining({ code: 'METRIC_CONFIG_INVALID', message: 'params.caseSensitive must be true or false, not "false".' }),
    );
  });
});
