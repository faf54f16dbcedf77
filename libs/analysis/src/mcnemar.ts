import { binomialHalfCdf, chiSquareSurvival, normalQuantile } from './distributions';

/**
 * McNemar's test for paired pass/fail outcomes. Only the discordant pairs carry information:
 *
 *                      current passed   current failed
 *     base passed            a                b          ← b: passed before, fails now (regressions)
 *     base failed            c                d          ← c: failed before, passes now (improvements)
 *
 * Under the null hypothesis (the pass rate did not change) each discordant pair is b or c with
 * probability 1/2. With few discordant pairs (b + c below `exactBelow`, default 25) the p-value
 * is the exact two-sided binomial one, 2·P(X ≤ min(b, c)) for X ~ Binomial(b + c, 1/2), capped
 * at 1; otherwise the chi-square statistic with Edwards' continuity correction,
 * (|b − c| − 1)² / (b + c) on one degree of freedom (|b − c| − 1 floored at 0, so b = c gives 1).
 */
export type McNemarMethod = 'MCNEMAR_EXACT' | 'MCNEMAR_CHI_SQUARE';

export interface McNemarResult {
  readonly method: McNemarMethod;
  /** Pairs that passed in base and fail now. */
  readonly b: number;
  /** Pairs that failed in base and pass now. */
  readonly c: number;
  /** The chi-square statistic (continuity corrected); null for the exact test. */
  readonly statistic: number | null;
  readonly pValue: number;
}

export interface McNemarOptions {
  /** Below this many discordant pairs the exact binomial test is used. Default 25. */
  readonly exactBelow?: number;
}

export const MCNEMAR_EXACT_BELOW = 25;

export function mcnemarTest(b: number, c: number, options: McNemarOptions = {}): McNemarResult {
  assertCount('b', b);
  assertCount('c', c);
  const n = b + c;
  if (n < (options.exactBelow ?? MCNEMAR_EXACT_BELOW)) {
    const pValue = n === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(b, c), n));
    return { method: 'MCNEMAR_EXACT', b, c, statistic: null, pValue };
  }
  const corrected = Math.max(0, Math.abs(b - c) - 1);
  const statistic = (corrected * corrected) / n;
  return { method: 'MCNEMAR_CHI_SQUARE', b, c, statistic, pValue: chiSquareSurvival(statistic, 1) };
}

/**
 * The Wald interval for the difference of two paired proportions, current minus base:
 * (c − b)/n ± z·√((b + c) − (c − b)²/n)/n over n pairs (Agresti, Categorical Data Analysis,
 * §10.1). Null without pairs.
 */
export function pairedProportionInterval(b: number, c: number, n: number, confidence = 0.95): { delta: number; low: number; high: number } | null {
  assertCount('b', b);
  assertCount('c', c);
  assertCount('n', n);
  if (b + c > n) throw new RangeError(`b + c (${b + c}) cannot exceed the number of pairs (${n})`);
  if (n === 0) return null;
  const delta = (c - b) / n;
  const se = Math.sqrt(Math.max(0, b + c - ((c - b) * (c - b)) / n)) / n;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  return { delta, low: Math.max(-1, delta - z * se), high: Math.min(1, delta + z * se) };
}

function assertCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}
