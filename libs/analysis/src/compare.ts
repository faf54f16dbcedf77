import type { OutputType } from '@assay/contracts';
import { comparePairKeys, type PairKey } from './align';
import { DEFAULT_BOOTSTRAP_RESAMPLES, pairedBootstrap } from './bootstrap';
import { mcnemarTest, pairedProportionInterval, type McNemarMethod } from './mcnemar';

/**
 * One metric compared over the paired records of two runs: a significance figure (McNemar's test
 * for BOOLEAN metrics, the paired bootstrap of the mean for INT and FLOAT ones) and the testcases
 * whose verdict flipped. A pair takes part only when both records have a score (not a failure)
 * from the metric; the caller leaves the others out.
 */
export interface PairedScore extends PairKey {
  readonly base: { readonly value: number; readonly passed: boolean };
  readonly current: { readonly value: number; readonly passed: boolean };
}

export type SignificanceMethod = 'PAIRED_BOOTSTRAP' | McNemarMethod;

export interface Significance {
  readonly method: SignificanceMethod;
  /** Pairs with a score on both sides: what the figures below are computed from. */
  readonly pairs: number;
  /**
   * Over those pairs, current minus base: the mean difference (PAIRED_BOOTSTRAP), or the
   * difference of pass rates (McNemar). Null without pairs.
   */
  readonly delta: number | null;
  /** Two-sided p-value of "no change"; null when there is nothing to test. */
  readonly pValue: number | null;
  /** Confidence interval of `delta` (95% by default): bootstrap percentile, or Wald for paired proportions (McNemar). */
  readonly ciLow: number | null;
  readonly ciHigh: number | null;
  /** McNemar's chi-square statistic (continuity corrected); null otherwise. */
  readonly statistic: number | null;
  /** Bootstrap resamples; null for McNemar. */
  readonly resamples: number | null;
  /** Pairs that passed in base and fail now (McNemar's b). */
  readonly discordantBaseOnly: number;
  /** Pairs that failed in base and pass now (McNemar's c). */
  readonly discordantCurrentOnly: number;
}

export interface TestcaseChange extends PairKey {
  readonly baseValue: number;
  readonly value: number;
  readonly basePassed: boolean;
  readonly passed: boolean;
}

export interface MetricPairsComparison {
  readonly significance: Significance;
  /** Passed in base, fail now (for INT and FLOAT: fell below the passing threshold). Largest drop first. */
  readonly regressed: TestcaseChange[];
  /** Failed in base, pass now. Largest gain first. */
  readonly improved: TestcaseChange[];
}

export interface CompareOptions {
  readonly resamples?: number;
  readonly seed?: number | string;
  readonly confidence?: number;
  /** McNemar: below this many discordant pairs the exact test is used (default 25). */
  readonly exactBelow?: number;
}

export function compareMetricPairs(outputType: OutputType, input: readonly PairedScore[], options: CompareOptions = {}): MetricPairsComparison {
  // The bootstrap consumes pairs in order: fix the order, whatever the caller's.
  const pairs = [...input].sort(comparePairKeys);
  const regressed: TestcaseChange[] = [];
  const improved: TestcaseChange[] = [];
  for (const pair of pairs) {
    if (pair.base.passed === pair.current.passed) continue;
    const change: TestcaseChange = {
      testcaseId: pair.testcaseId,
      trial: pair.trial,
      baseValue: pair.base.value,
      value: pair.current.value,
      basePassed: pair.base.passed,
      passed: pair.current.passed,
    };
    (pair.base.passed ? regressed : improved).push(change);
  }
  const byChange = (sign: 1 | -1) => (x: TestcaseChange, y: TestcaseChange) => sign * (x.value - x.baseValue - (y.value - y.baseValue)) || comparePairKeys(x, y);
  regressed.sort(byChange(1));
  improved.sort(byChange(-1));

  const b = regressed.length;
  const c = improved.length;
  const n = pairs.length;
  if (outputType === 'BOOLEAN') {
    const test = mcnemarTest(b, c, { exactBelow: options.exactBelow });
    const interval = pairedProportionInterval(b, c, n, options.confidence);
    return {
      significance: {
        method: test.method,
        pairs: n,
        delta: interval?.delta ?? null,
        pValue: n === 0 ? null : test.pValue,
        ciLow: interval?.low ?? null,
        ciHigh: interval?.high ?? null,
        statistic: test.statistic,
        resamples: null,
        discordantBaseOnly: b,
        discordantCurrentOnly: c,
      },
      regressed,
      improved,
    };
  }
  const boot = pairedBootstrap(
    pairs.map((p) => p.base.value),
    pairs.map((p) => p.current.value),
    { resamples: options.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES, seed: options.seed, confidence: options.confidence },
  );
  return {
    significance: {
      method: 'PAIRED_BOOTSTRAP',
      pairs: n,
      delta: boot.delta,
      pValue: boot.pValue,
      ciLow: boot.ciLow,
      ciHigh: boot.ciHigh,
      statistic: null,
      resamples: boot.resamples,
      discordantBaseOnly: b,
      discordantCurrentOnly: c,
    },
    regressed,
    improved,
  };
}
