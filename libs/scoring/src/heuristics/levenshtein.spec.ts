import type { HeuristicDefinition } from '@assay/contracts';
import { codePointsOf, levenshteinDistance, levenshteinSimilarity } from './levenshtein';
import { scoreHeuristic } from './score-heuristic';

const lev = (extra: Partial<HeuristicDefinition> = {}): HeuristicDefinition => ({ kind: 'LEVENSHTEIN', ...extra });
const distance = (a: string, b: string, max?: number) => levenshteinDistance(codePointsOf(a), codePointsOf(b), max);

/** Textbook full-matrix Levenshtein over code points, to check the optimised one against. */
function reference(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
  }
  return d[x.length][y.length];
}

describe('levenshteinDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['flaw', 'lawn', 2],
    ['saturday', 'sunday', 3],
    ['abc', 'abc', 0],
    ['abc', 'cba', 2],
    ['prefix-same-suffix', 'prefix-diff-suffix', 4],
    ['👍', '👎', 1], // one code point each, two UTF-16 code units
    ['a👍b', 'ab', 1],
    ['𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢!', 1],
    ['naïve', 'naive', 1],
  ])('distance(%j, %j) = %i code-point edits', (a, b, expected) => {
    expect(distance(a, b)).toEqual({ distance: expected, estimated: false });
    expect(distance(b, a)).toEqual({ distance: expected, estimated: false });
  });

  it('agrees with the textbook algorithm on random strings', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = ['a', 'b', 'c', '👍', 'é'];
    const word = () => Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 300; i++) {
      const [a, b] = [word(), word()];
      expect(distance(a, b).distance).toBe(reference(a, b));
    }
  });

  it('estimates an upper bound past the cell budget, and is exact when the bound is not needed', () => {
    // With a budget of 4 code points, "abcdefgh" vs "xbcdefgy" (8 × 8 cells, nothing in common at
    // either end) compares the heads "abcd"/"xbcd" (1 edit) and counts the tails as 4 edits; truly 2.
    expect(distance('abcdefgh', 'xbcdefgy', 4)).toEqual({ distance: 1 + 4, estimated: true });
    // Common prefix and suffix are removed first, so this stays exact.
    expect(distance('same-start abcd same-end', 'same-start wxyz same-end', 4)).toEqual({ distance: 4, estimated: false });
    // A long text against a short one is cheap (8 × 1 cells): exact.
    expect(distance('abcdefgh', 'z', 4)).toEqual({ distance: 8, estimated: false });
  });

  it('stays fast and bounded on huge inputs', () => {
    const a = 'a'.repeat(200_000) + 'x'.repeat(50_000);
    const b = 'b'.repeat(200_000) + 'x'.repeat(50_000);
    const started = Date.now();
    const result = distance(a, b);
    expect(result.estimated).toBe(true);
    expect(result.distance).toBeGreaterThanOrEqual(200_000); // never below the true distance
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('levenshteinSimilarity', () => {
  it.each([
    ['', '', 1],
    ['abc', 'abc', 1],
    ['abc', '', 0],
    ['abc', 'xyz', 0],
    ['kitten', 'sitting', 1 - 3 / 7],
    ['👍👍', '👍👎', 0.5], // 2 code points each, not 4 code units
  ])('similarity(%j, %j) = %d', (a, b, expected) => {
    expect(levenshteinSimilarity(a, b).similarity).toBeCloseTo(expected, 10);
  });
});

describe('LEVENSHTEIN', () => {
  it.each([
    ['equal texts', lev(), 'Paris', 'Paris', 1, "similarity 1 (0 edit(s) over 5 character(s)): expected 'Paris', got 'Paris'"],
    ['one edit', lev(), 'Pari', 'Paris', 0.8, "similarity 0.8 (1 edit(s) over 5 character(s)): expected 'Paris', got 'Pari'"],
    ['nothing in common', lev(), 'abc', 'xyz', 0, "similarity 0 (3 edit(s) over 3 character(s)): expected 'xyz', got 'abc'"],
    ['case counts by default', lev(), 'paris', 'Paris', 0.8, "similarity 0.8 (1 edit(s) over 5 character(s)): expected 'Paris', got 'paris'"],
    ['caseSensitive false', lev({ params: { caseSensitive: false } }), 'PARIS', 'paris', 1, "similarity 1 (0 edit(s) over 5 character(s)) (ignoring case): expected 'paris', got 'PARIS'"],
    ['surrounding whitespace is trimmed', lev(), ' Paris\n', 'Paris', 1, "similarity 1 (0 edit(s) over 5 character(s)): expected 'Paris', got ' Paris\\n'"],
    ['two empty texts', lev(), '', '', 1, "similarity 1 (0 edit(s) over 0 character(s)): expected '', got ''"],
    ['an empty output', lev(), '', 'Paris', 0, "similarity 0 (5 edit(s) over 5 character(s)): expected 'Paris', got ''"],
    ['emoji count as one character', lev(), '👍👍', '👍👎', 0.5, "similarity 0.5 (1 edit(s) over 2 character(s)): expected '👍👎', got '👍👍'"],
    ['NFC: composed vs decomposed', lev(), 'caf\u00e9', 'cafe\u0301', 1, "similarity 1 (0 edit(s) over 4 character(s)): expected 'cafe\u0301', got 'caf\u00e9'"],
    ['numbers as text', lev(), 1234, '1235', 0.75, "similarity 0.75 (1 edit(s) over 4 character(s)): expected '1235', got 1234"],
    ['nested fields', lev({ outputField: 'a.b', expectedField: 'c.0' }), { a: { b: 'abcd' } }, { c: ['abce'] }, 0.75, "similarity 0.75 (1 edit(s) over 4 character(s)): expected 'abce', got 'abcd'"],
    ['a missing output field', lev({ outputField: 'text' }), {}, 'Paris', 0, "expected 'Paris', but output.text is missing: output has no field 'text'"],
    ['a missing expected value', lev(), 'Paris', null, 0, 'expected is empty (null): nothing to compare with'],
  ])('%s', (_name, definition, outputs, expected, value, reasoning) => {
    const result = scoreHeuristic(definition, { outputs, expected });
    expect(result.value).toBeCloseTo(value, 10);
    expect(result.reasoning).toBe(reasoning);
  });

  it('notes when huge texts were estimated, and stays within 0..1', () => {
    const result = scoreHeuristic(lev(), { outputs: 'a'.repeat(30_000), expected: 'b'.repeat(30_000) });
    expect(result.value).toBe(0);
    expect(result.reasoning).toMatch(/^similarity 0 \(at most 30000 edit\(s\) over 30000 character\(s\)\): .*too long to compare in full.*lower bound$/);
    expect(result.reasoning.length).toBeLessThan(500);
  });
});
