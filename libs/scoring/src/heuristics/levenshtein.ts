import { textParams } from '@assay/domain';
import { describeOptions, normalizeText } from './normalize-text';
import type { CompileHeuristic } from './scorer';
import { fail, selectField, show, textOf } from './values';

/**
 * The distance is computed exactly up to 10,000 × 10,000 cells (a few hundred milliseconds; the work
 * grows with the product of the lengths, after removing the common prefix and suffix), and estimated
 * beyond that.
 */
export const LEVENSHTEIN_MAX_CODE_POINTS = 10_000;

/** A string's Unicode code points: "👍" is one, not two UTF-16 code units. */
export function codePointsOf(text: string): Uint32Array {
  const result = new Uint32Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; n++) {
    const cp = text.codePointAt(i)!;
    result[n] = cp;
    i += cp > 0xffff ? 2 : 1;
  }
  return result.subarray(0, n);
}

/** Classic dynamic programming over the shorter side: O(n·m) time, O(min(n, m)) memory. */
function fullDistance(a: Uint32Array, b: Uint32Array): number {
  if (a.length < b.length) [a, b] = [b, a];
  const m = b.length;
  if (m === 0) return a.length;
  const row = new Uint32Array(m + 1);
  for (let j = 0; j <= m; j++) row[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]; // D[i-1][j-1]
    row[0] = i;
    const ca = a[i - 1];
    for (let j = 1; j <= m; j++) {
      const above = row[j]; // D[i-1][j]
      const substitution = diagonal + (ca === b[j - 1] ? 0 : 1);
      const deletion = above + 1;
      const insertion = row[j - 1] + 1;
      row[j] = substitution < deletion ? (substitution < insertion ? substitution : insertion) : deletion < insertion ? deletion : insertion;
      diagonal = above;
    }
  }
  return row[m];
}

export interface DistanceResult {
  readonly distance: number;
  /** True when the inputs were too long to compare in full: `distance` is then an upper bound. */
  readonly estimated: boolean;
}

/**
 * Levenshtein distance in code points. The common prefix and suffix are skipped first (cheap, and
 * exact). When the remainders would need more than `maxCodePoints`² cells, only the first
 * `maxCodePoints` code points of each are compared and the longer of the two cut-off tails counts as
 * that many edits: an upper bound of the distance (edit the heads, then the tails).
 */
export function levenshteinDistance(a: Uint32Array, b: Uint32Array, maxCodePoints = LEVENSHTEIN_MAX_CODE_POINTS): DistanceResult {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const restA = a.subarray(start, endA);
  const restB = b.subarray(start, endB);
  if (restA.length * restB.length <= maxCodePoints * maxCodePoints) {
    return { distance: fullDistance(restA, restB), estimated: false };
  }
  const headA = restA.subarray(0, maxCodePoints);
  const headB = restB.subarray(0, maxCodePoints);
  const tails = Math.max(restA.length - headA.length, restB.length - headB.length);
  return { distance: fullDistance(headA, headB) + tails, estimated: true };
}

/** 1 − distance / max(length): 1 for equal texts (two empty texts included), 0 for nothing in common. */
export function levenshteinSimilarity(a: string, b: string, maxCodePoints = LEVENSHTEIN_MAX_CODE_POINTS) {
  const pointsA = codePointsOf(a);
  const pointsB = codePointsOf(b);
  const longest = Math.max(pointsA.length, pointsB.length);
  if (longest === 0) return { similarity: 1, distance: 0, longest, estimated: false };
  const { distance, estimated } = levenshteinDistance(pointsA, pointsB, maxCodePoints);
  return { similarity: Math.min(1, Math.max(0, 1 - distance / longest)), distance, longest, estimated };
}

const round = (value: number) => Number(value.toFixed(3));

/**
 * LEVENSHTEIN: similarity of the output field's text to the expected field's text, from 0 to 1,
 * counted in Unicode code points. params: caseSensitive, trim (both default true).
 */
export const compileLevenshtein: CompileHeuristic = (definition) => {
  const options = textParams(definition.params ?? {});
  return ({ outputs, expected }) => {
    const want = selectField('expected', expected, definition.expectedField);
    if (!want.found) return fail(`${want.why}: nothing to compare with`);
    const got = selectField('output', outputs, definition.outputField);
    if (!got.found) return fail(`expected ${show(want.value)}, but ${got.why}`);
    const result = levenshteinSimilarity(normalizeText(textOf(got.value), options), normalizeText(textOf(want.value), options));
    const note = result.estimated
      ? `; the texts are too long to compare in full: past their first ${LEVENSHTEIN_MAX_CODE_POINTS.toLocaleString('en')} differing code points every code point counted as an edit, so the similarity is a lower bound`
      : '';
    return {
      value: result.similarity,
      reasoning:
        `similarity ${round(result.similarity)} (${result.estimated ? 'at most ' : ''}${result.distance} edit(s) over ${result.longest} ` +
        `character(s))${describeOptions(options)}: expected ${show(want.value)}, got ${show(got.value)}${note}`,
    };
  };
};
