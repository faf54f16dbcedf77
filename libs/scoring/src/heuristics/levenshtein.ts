import { textParams } from '@assay/domain';
import { describeOptions, normalizeText } from './normalize-text';
import type { CompileHeuristic } from './scorer';
import { fail, selectField, show, textOf } from './values';

/**
 * The distance is computed exactly (Myers' bit-parallel algorithm, below) while its work, ⌈m/32⌉·n
 * steps for the shorter remainder m and the longer n once the common prefix and suffix are removed,
 * is at most that of two texts of this many code points each: 938 × 30,000 ≈ 28 million steps,
 * 130–200 ms of one core on Node 20 (measured: 10k × 10k 15–30 ms, 20k × 20k 70–80 ms, 30k × 30k
 * 130–200 ms, 100k × 100k 1.3–1.9 s). Beyond that the distance is estimated, so that one record never
 * holds a scoring worker's event loop (its acks and heartbeats) for longer.
 */
export const LEVENSHTEIN_MAX_CODE_POINTS = 30_000;

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

/** The work of the exact computation: ⌈shorter/32⌉ 32-bit blocks, each run over the longer text. */
function steps(a: number, b: number): number {
  const [shorter, longer] = a < b ? [a, b] : [b, a];
  return Math.ceil(shorter / 32) * longer;
}

/**
 * Exact Levenshtein distance by Myers' bit-parallel algorithm, in Hyyrö's blocked form: the shorter
 * text (the pattern) is cut into blocks of 32 code points, one bit per code point of a 32-bit
 * integer. Each block is run over the whole longer text, carrying the vertical deltas of its column
 * in two bit vectors (pv: +1, mv: −1), and hands the horizontal delta at its bottom row, one bit per
 * text position (phc: +1, mhc: −1), to the block below. The last block's bottom row is the distance.
 * O(⌈m/32⌉·n) time, O(m + n) memory.
 *
 * Code points are first numbered densely by the pattern's alphabet (0 for a code point the pattern
 * lacks), so that a block's match vectors are an array indexed by that number, filled with the
 * block's 32 code points and cleared after it: memory stays linear in the pattern, whatever its
 * alphabet.
 */
function bitParallelDistance(a: Uint32Array, b: Uint32Array): number {
  const [pattern, text] = a.length <= b.length ? [a, b] : [b, a];
  const m = pattern.length;
  const n = text.length;
  if (m === 0) return n;

  const numbers = new Map<number, number>();
  const patternSymbols = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    let symbol = numbers.get(pattern[i]);
    if (symbol === undefined) numbers.set(pattern[i], (symbol = numbers.size + 1));
    patternSymbols[i] = symbol;
  }
  const textSymbols = new Int32Array(n);
  for (let j = 0; j < n; j++) textSymbols[j] = numbers.get(text[j]) ?? 0;

  /** Match vectors of the current block: bit i of peq[s] is set when the block's i-th code point is s. */
  const peq = new Int32Array(numbers.size + 1);
  /** Horizontal delta at the bottom of the block above, per text position: all +1 above the first row. */
  const phc = new Int32Array((n + 31) >>> 5).fill(-1);
  const mhc = new Int32Array((n + 31) >>> 5);
  const blocks = (m + 31) >>> 5;
  let distance = m;

  for (let block = 0; block < blocks; block++) {
    const start = block << 5;
    const end = Math.min(start + 32, m);
    for (let i = start; i < end; i++) peq[patternSymbols[i]] |= 1 << (i - start);
    const last = block === blocks - 1;
    const lastBit = (end - start - 1) & 31;
    let pv = -1; // the block's left column, D[i][0] = i: every vertical delta is +1
    let mv = 0;
    for (let word = 0; word < phc.length; word++) {
      const pIn = phc[word];
      const mIn = mhc[word];
      let pOut = 0;
      let mOut = 0;
      const first = word << 5;
      const count = Math.min(32, n - first);
      for (let bit = 0; bit < count; bit++) {
        const eq = peq[textSymbols[first + bit]];
        const pb = (pIn >>> bit) & 1;
        const mb = (mIn >>> bit) & 1;
        const xv = eq | mv;
        const xh = ((((eq | mb) & pv) + pv) ^ pv) | eq | mb;
        let ph = mv | ~(xh | pv);
        let mh = pv & xh;
        if (last) distance += ((ph >>> lastBit) & 1) - ((mh >>> lastBit) & 1);
        pOut |= (ph >>> 31) << bit;
        mOut |= (mh >>> 31) << bit;
        ph = (ph << 1) | pb;
        mh = (mh << 1) | mb;
        pv = mh | ~(xv | ph);
        mv = ph & xv;
      }
      phc[word] = pOut;
      mhc[word] = mOut;
    }
    for (let i = start; i < end; i++) peq[patternSymbols[i]] = 0;
  }
  return distance;
}

export interface DistanceResult {
  readonly distance: number;
  /** True when the inputs were too long to compare in full: `distance` is then an upper bound. */
  readonly estimated: boolean;
}

/**
 * Levenshtein distance in code points. The common prefix and suffix are skipped first (cheap, and
 * exact); the rest is computed exactly unless it would take more work than two texts of
 * `maxCodePoints` code points each (see LEVENSHTEIN_MAX_CODE_POINTS). Then, and only then, just the
 * first `maxCodePoints` code points of each are compared and the longer of the two cut-off tails
 * counts as that many edits: an upper bound of the distance (edit the heads, then the tails).
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
  if (steps(restA.length, restB.length) <= steps(maxCodePoints, maxCodePoints)) {
    return { distance: bitParallelDistance(restA, restB), estimated: false };
  }
  const headA = restA.subarray(0, maxCodePoints);
  const headB = restB.subarray(0, maxCodePoints);
  const tails = Math.max(restA.length - headA.length, restB.length - headB.length);
  return { distance: bitParallelDistance(headA, headB) + tails, estimated: true };
}

/**
 * (max(length) − distance) / max(length), i.e. 1 − distance / max(length) but without its rounding
 * error (1 − 4/5 is 0.19999999999999996, which would fail a 0.2 threshold): 1 for equal texts (two
 * empty texts included), 0 for nothing in common.
 */
export function levenshteinSimilarity(a: string, b: string, maxCodePoints = LEVENSHTEIN_MAX_CODE_POINTS) {
  const pointsA = codePointsOf(a);
  const pointsB = codePointsOf(b);
  const longest = Math.max(pointsA.length, pointsB.length);
  if (longest === 0) return { similarity: 1, distance: 0, longest, estimated: false };
  const { distance, estimated } = levenshteinDistance(pointsA, pointsB, maxCodePoints);
  return { similarity: Math.min(1, Math.max(0, (longest - distance) / longest)), distance, longest, estimated };
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
