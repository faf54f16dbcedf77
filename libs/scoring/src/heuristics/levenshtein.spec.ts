import type { HeuristicDefinition } from '@assay/contracts';
import { isPassing } from '@assay/domain';
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
    // Fixed-seed mulberry32: small alphabets (so that the strings share a lot), lengths 0 to 200, so
    // that many cross the 32- and 64-code-point block boundaries of the bit-parallel algorithm, and
    // astral code points (one code point, two UTF-16 code units).
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const alphabets = [['a'], ['a', 'b'], ['a', 'b', 'c', '👍', 'é'], ['𝔘', '𝔫', '👍', '👎'], Array.from('abcdefghijklmnopqrstuvwxyz')];
    const word = (alphabet: readonly string[], longest: number) =>
      Array.from({ length: Math.floor(random() * (longest + 1)) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    let crossedBlocks = 0;
    for (let i = 0; i < 500; i++) {
      const alphabet = alphabets[i % alphabets.length];
      const longest = i % 4 === 0 ? 12 : 200;
      const [a, b] = [word(alphabet, longest), word(alphabet, longest)];
      if (Math.min(Array.from(a).length, Array.from(b).length) > 64) crossedBlocks++;
      const expected = reference(a, b);
      expect([a, b, distance(a, b)]).toEqual([a, b, { distance: expected, estimated: false }]);
      expect([b, a, distance(b, a)]).toEqual([b, a, { distance: expected, estimated: false }]);
    }
    expect(crossedBlocks).toBeGreaterThan(100);
  });

  it('compares long texts exactly: "x" + s against s + "y" is 2 edits for 20,000 random code points', () => {
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647;
    const s = Array.from({ length: 20_000 }, () => String.fromCodePoint(0x61 + Math.floor(random() * 26))).join('');
    const started = Date.now();
    expect(distance(`x${s}`, `${s}y`)).toEqual({ distance: 2, estimated: false });
    const result = scoreHeuristic(lev(), { outputs: `x${s}`, expected: `${s}y` });
    expect(result.value).toBeCloseTo(1 - 2 / 20_001, 10);
    expect(result.reasoning).toMatch(/^similarity 1 \(2 edit\(s\) over 20001 character\(s\)\): /);
    expect(result.reasoning).not.toMatch(/too long/);
    expect(Date.now() - started).toBeLessThan(2_000); // a few tens of milliseconds (Myers' bit-parallel algorithm)
  });

  it('estimates an upper bound past the work budget, and is exact when the bound is not needed', () => {
    // With a budget of 4 code points (the work of comparing 4 with 4), "abcdefgh" vs "xbcdefgy"
    // (nothing in common at either end) compares the heads "abcd"/"xbcd" (1 edit) and counts the
    // tails as 4 edits; truly 2.
    expect(distance('abcdefgh', 'xbcdefgy', 4)).toEqual({ distance: 1 + 4, estimated: true });
    // Common prefix and suffix are removed first, so this stays exact.
    expect(distance('same-start abcd same-end', 'same-start wxyz same-end', 4)).toEqual({ distance: 4, estimated: false });
    // The work is ⌈shorter/32⌉ × longer: a short text against a long one costs no more than two long ones.
    expect(distance('a'.repeat(64), 'z', 64)).toEqual({ distance: 64, estimated: false });
    expect(distance('a'.repeat(100), 'z'.repeat(20), 64)).toEqual({ distance: 100, estimated: false }); // 1 × 100 steps ≤ 2 × 64
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

  it.each([
    ['4 edits over 5 characters', 'aWXYZ', 'abcde', 0.2, 'similarity 0.2 (4 edit(s) over 5 character(s))'],
    ['9 edits over 10 characters', 'aQRSTUVWXY', 'abcdefghij', 0.1, 'similarity 0.1 (9 edit(s) over 10 character(s))'],
  ])('%s: the similarity is exactly the threshold the reasoning shows, and passes it', (_name, outputs, expected, threshold, reasoning) => {
    const result = scoreHeuristic(lev(), { outputs, expected });
    expect(result.value).toBe(threshold); // 1 − 4/5 would be 0.19999999999999996
    expect(result.reasoning.startsWith(`${reasoning}:`)).toBe(true);
    expect(isPassing('FLOAT', threshold, result.value)).toBe(true);
  });

  it('notes when huge texts were estimated, and stays within 0..1', () => {
    const result = scoreHeuristic(lev(), { outputs: 'a'.repeat(40_000), expected: 'b'.repeat(40_000) });
    expect(result.value).toBe(0);
    expect(result.reasoning).toMatch(/^similarity 0 \(at most 40000 edit\(s\) over 40000 character\(s\)\): .*too long to compare in full.*lower bound$/);
    expect(result.reasoning.length).toBeLessThan(500);
  });
});
