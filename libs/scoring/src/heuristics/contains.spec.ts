import type { HeuristicDefinition } from '@assay/contracts';
import { scoreHeuristic } from './score-heuristic';

const contains = (extra: Partial<HeuristicDefinition> = {}): HeuristicDefinition => ({ kind: 'CONTAINS', ...extra });

describe('CONTAINS', () => {
  it.each([
    ['a substring', contains(), 'The capital is Paris.', 'Paris', 1, "output contains 'Paris'"],
    ['the same text', contains(), 'Paris', 'Paris', 1, "output contains 'Paris'"],
    ['absent text', contains(), 'The capital is Lyon.', 'Paris', 0, "output 'The capital is Lyon.' does not contain 'Paris'"],
    ['other case (case sensitive by default)', contains(), 'the capital is paris', 'Paris', 0, "output 'the capital is paris' does not contain 'Paris'"],
    ['other case, caseSensitive false', contains({ params: { caseSensitive: false } }), 'THE CAPITAL IS PARIS', 'Paris', 1, "output contains 'Paris' (ignoring case)"],
    ['expected with surrounding whitespace (trimmed)', contains(), 'in Paris.', ' Paris\n', 1, "output contains ' Paris\\n'"],
    ['expected with surrounding whitespace, trim false', contains({ params: { trim: false } }), 'in Paris.', ' Paris ', 0, "output 'in Paris.' does not contain ' Paris '"],
    ['a number in a sentence', contains(), 'It is 42 years old', 42, 1, "output contains 42"],
    ['a JSON output containing a value', contains(), { answer: 'Paris', score: 1 }, 'Paris', 1, "output contains 'Paris'"],
    ['unicode (decomposed expected)', contains(), 'un café noir', 'cafe\u0301', 1, "output contains 'cafe\u0301'"],
    ['an empty expected text', contains(), 'anything', '', 0, 'expected is empty: nothing to look for'],
    ['an expected text of spaces', contains(), 'anything', '   ', 0, 'expected is empty: nothing to look for'],
  ])('%s', (_name, definition, outputs, expected, value, reasoning) => {
    expect(scoreHeuristic(definition, { outputs, expected })).toEqual({ value, reasoning });
  });

  it.each([
    ['nested fields', contains({ outputField: 'message.content', expectedField: 'keywords.0' }), { message: { content: 'I think Paris.' } }, { keywords: ['Paris'] }, 1, "output.message.content contains 'Paris'"],
    ['a missing output field', contains({ outputField: 'message.content' }), { message: {} }, 'Paris', 0, "looked for 'Paris', but output.message.content is missing: output.message has no field 'content'"],
    ['a missing expected value', contains(), 'Paris', null, 0, 'expected is empty (null): nothing to look for'],
  ])('%s', (_name, definition, outputs, expected, value, reasoning) => {
    expect(scoreHeuristic(definition, { outputs, expected })).toEqual({ value, reasoning });
  });
});
