import { seededRandom } from './random';

/**
 * The paired bootstrap for a difference of means. With n pairs (base_i, current_i) and their
 * differences d_i = current_i − base_i, the observed delta is mean(d). Each of B resamples draws
 * n pairs with replacement (pairs stay together: that is what makes it paired) and takes the mean
 * of their differences, δ*_1 … δ*_B.
 *
 * - Confidence interval: the percentile interval, the (1 − level)/2 and (1 + level)/2 quantiles
 *   of δ* (linear interpolation between order statistics, as R's type 7).
 * - p-value, two-sided, for "no difference": the bootstrap distribution is shifted to the null
 *   (centred on 0) and compared with the observed delta (Efron & Tibshirani, An Introduction to
 *   the Bootstrap, §16.4; Davison & Hinkley, Bootstrap Methods, §4.4):
 *   p = (1 + #{ |δ*_b − δ| ≥ |δ| }) / (B + 1). It is never 0: the smallest is 1/(B + 1).
 *
 * The resamples come from a seeded generator over the pairs in the order given, so the same
 * pairs in the same order with the same seed give the same interval and p-value, always.
 */
export interface PairedBootstrapOptions {
  /** Number of resamples, B. Default 2,000. */
  readonly resamples?: number;
  /** Seed of the generator. Default 1. */
  readonly seed?: number | string;
  /** Confidence level of the interval. Default 0.95. */
  readonly confidence?: number;
}

export interface PairedBootstrapResult {
  readonly n: number;
  readonly resamples: number;
  /** mean(current − base); null without pairs. */
  readonly delta: number | null;
  /** Percentile interval of the delta; null with fewer than two pairs. */
  readonly ciLow: number | null;
  readonly ciHigh: number | null;
  /** Two-sided p-value of "no difference"; null with fewer than two pairs (nothing to resample). */
  readonly pValue: number | null;
}

export const DEFAULT_BOOTSTRAP_RESAMPLES = 2000;
export const DEFAULT_BOOTSTRAP_SEED = 1;

export function pairedBootstrap(base: readonly number[], current: readonly number[], options: PairedBootstrapOptions = {}): PairedBootstrapResult {
  if (base.length !== current.length) {
    throw new RangeError(`Paired samples must have the same length: ${base.length} base values, ${current.length} current values`);
  }
  const resamples = options.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be between 0 and 1, got ${confidence}`);

  const n = base.length;
  const differences = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = current[i] - base[i];
    if (!Number.isFinite(d)) throw new RangeError(`Pair ${i} is not a pair of finite numbers: (${base[i]}, ${current[i]})`);
    differences[i] = d;
    total += d;
  }
  if (n === 0) return { n, resamples, delta: null, ciLow: null, ciHigh: null, pValue: null };
  const delta = total / n;
  if (n === 1) return { n, resamples, delta, ciLow: null, ciHigh: null, pValue: null };

  const random = seededRandom(options.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += differences[random.nextInt(n)];
    means[r] = sum / n;
  }

  // Rounding must not turn "as extreme as observed" into "less extreme": compare with a tolerance
  // a few ulps wide, in the direction that counts a tie (the conservative side).
  const observed = Math.abs(delta);
  const tolerance = 1e-12 * Math.max(1, observed);
  let asExtreme = 0;
  for (let r = 0; r < resamples; r++) if (Math.abs(means[r] - delta) >= observed - tolerance) asExtreme++;

  means.sort();
  const alpha = 1 - confidence;
  return {
    n,
    resamples,
    delta,
    ciLow: quantileSorted(means, alpha / 2),
    ciHigh: quantileSorted(means, 1 - alpha / 2),
    pValue: (1 + asExtreme) / (resamples + 1),
  };
}

/** The p-quantile of sorted values, interpolating linearly between order statistics (R type 7, numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no values');
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
