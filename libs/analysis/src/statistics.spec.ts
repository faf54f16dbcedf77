import { chiSquareSurvival, binomialHalfCdf, lnGamma, normalCdf, normalQuantile, upperRegularizedGamma } from './distributions';
import { mcnemarTest, pairedProportionInterval } from './mcnemar';
import { pairedBootstrap, quantileSorted } from './bootstrap';
import { seededRandom, seedFromString, xoshiro128StarStar } from './random';

/** Reference values: textbooks where they publish them, SciPy 1.17 (scipy.stats) to 1e-12 otherwise. */
describe('distributions', () => {
  it('lnGamma matches exact factorials and known values', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 14);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 14);
    expect(lnGamma(11)).toBeCloseTo(Math.log(3628800), 12);
    expect(lnGamma(0.1)).toBeCloseTo(2.2527126517342055, 12);
    expect(lnGamma(10.5)).toBeCloseTo(13.940625219403763, 12);
    expect(lnGamma(1e5) / 1051287.7089736566).toBeCloseTo(1, 14);
    expect(() => lnGamma(0)).toThrow(RangeError);
  });

  it('chi-square tail: the critical values of every table, and SciPy elsewhere', () => {
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 13);
    expect(chiSquareSurvival(6.634896601021214, 1)).toBeCloseTo(0.01, 13);
    expect(chiSquareSurvival(10.827566170662733, 1)).toBeCloseTo(0.001, 13);
    expect(chiSquareSurvival(0.001, 1)).toBeCloseTo(0.9747728793699604, 12);
    expect(chiSquareSurvival(50, 1) / 1.537459794428033e-12).toBeCloseTo(1, 10);
    expect(chiSquareSurvival(200, 1) / 2.0884875837625688e-45).toBeCloseTo(1, 10);
    expect(chiSquareSurvival(7.5, 4)).toBeCloseTo(0.11170929281604328, 12);
    expect(chiSquareSurvival(30.5, 10)).toBeCloseTo(0.000709274917404569, 14);
    expect(chiSquareSurvival(0, 1)).toBe(1);
    expect(upperRegularizedGamma(1, 2)).toBeCloseTo(Math.exp(-2), 14); // Q(1, x) = e^-x
  });

  it('binomial(n, 1/2) distribution function, exact for small n and by log-gamma beyond 1,000', () => {
    expect(binomialHalfCdf(1, 8)).toBe(9 / 256);
    expect(binomialHalfCdf(5, 20)).toBeCloseTo(0.020694732666015625, 15);
    expect(binomialHalfCdf(480, 1001)).toBeCloseTo(0.1030536554164765, 10);
    expect(binomialHalfCdf(-1, 5)).toBe(0);
    expect(binomialHalfCdf(5, 5)).toBe(1);
  });

  it('standard normal distribution function and quantile', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 13);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 14);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 12);
    expect(normalCdf(-1.96)).toBeCloseTo(0.024997895148220435, 14);
    expect(normalCdf(0.5)).toBeCloseTo(0.6914624612740131, 14);
    expect(normalCdf(-8) / 6.22096057427174e-16).toBeCloseTo(1, 9);
  });
});

describe("McNemar's test", () => {
  it('exact version: the AHR example of Fagerland, Lydersen & Laake (BMC Med Res Methodol 2013), b = 1, c = 7 → p = 0.070', () => {
    const result = mcnemarTest(1, 7);
    expect(result).toEqual({ method: 'MCNEMAR_EXACT', b: 1, c: 7, statistic: null, pValue: 18 / 256 });
    expect(result.pValue).toBeCloseTo(0.0703, 4);
    // The same table with the continuity-corrected asymptotic test, as the paper also reports (p = 0.077).
    const asymptotic = mcnemarTest(1, 7, { exactBelow: 0 });
    expect(asymptotic.method).toBe('MCNEMAR_CHI_SQUARE');
    expect(asymptotic.statistic).toBe(3.125);
    expect(asymptotic.pValue).toBeCloseTo(0.0771, 4);
  });

  it("chi-square version: Agresti's Prime Minister approval table (794, 150; 86, 570), and its paired-proportion interval", () => {
    const result = mcnemarTest(150, 86);
    expect(result.method).toBe('MCNEMAR_CHI_SQUARE');
    expect(result.statistic).toBeCloseTo(63 ** 2 / 236, 12); // 16.82
    expect(result.pValue).toBeCloseTo(4.114562281345944e-5, 15);
    // Agresti, Categorical Data Analysis, §10.1: 0.55 − 0.59 = −0.04, SE 0.0095, 95% CI (−0.06, −0.02).
    const interval = pairedProportionInterval(150, 86, 1600)!;
    expect(interval.delta).toBeCloseTo(-0.04, 14);
    expect((interval.high - interval.low) / (2 * 1.959963984540054)).toBeCloseTo(0.0095, 4);
    expect(interval.low).toBeCloseTo(-0.05871611675033167, 12);
    expect(interval.high).toBeCloseTo(-0.021283883249668335, 12);
  });

  it('chi-square version: the textbook table with b = 121, c = 59 (Wikipedia, "McNemar\'s test"): corrected statistic 20.67', () => {
    const result = mcnemarTest(121, 59);
    expect(result.statistic).toBeCloseTo(61 ** 2 / 180, 12);
    expect(result.pValue).toBeCloseTo(5.450094825427117e-6, 15);
  });

  it('uses the exact test below 25 discordant pairs and the chi-square test from 25 on', () => {
    expect(mcnemarTest(12, 12).method).toBe('MCNEMAR_EXACT');
    expect(mcnemarTest(20, 4).pValue).toBeCloseTo(2 * binomialHalfCdf(4, 24), 15);
    expect(mcnemarTest(20, 5).method).toBe('MCNEMAR_CHI_SQUARE');
    expect(mcnemarTest(20, 5).pValue).toBeCloseTo(chiSquareSurvival(14 ** 2 / 25, 1), 15);
    expect(mcnemarTest(3, 3, { exactBelow: 100 }).method).toBe('MCNEMAR_EXACT');
  });

  it('is symmetric in b and c, gives 1 with no discordant pairs or b = c, and refuses impossible counts', () => {
    expect(mcnemarTest(2, 9).pValue).toBe(mcnemarTest(9, 2).pValue);
    expect(mcnemarTest(40, 13).pValue).toBe(mcnemarTest(13, 40).pValue);
    expect(mcnemarTest(0, 0).pValue).toBe(1);
    expect(mcnemarTest(5, 5).pValue).toBe(1);
    expect(mcnemarTest(30, 30).pValue).toBe(1);
    expect(() => mcnemarTest(-1, 2)).toThrow(RangeError);
    expect(() => mcnemarTest(1.5, 2)).toThrow(RangeError);
    expect(() => pairedProportionInterval(3, 3, 5)).toThrow(RangeError);
    expect(pairedProportionInterval(0, 0, 0)).toBeNull();
    expect(pairedProportionInterval(0, 0, 10)).toEqual({ delta: 0, low: 0, high: 0 });
  });
});

describe('seeded random numbers', () => {
  it('xoshiro128** matches the reference implementation (state 1, 2, 3, 4)', () => {
    const random = xoshiro128StarStar([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => random.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('a seed gives the same sequence every time (splitmix32 fills the state), another seed another one', () => {
    const first = seededRandom(1);
    expect(Array.from({ length: 4 }, () => first.nextUint32())).toEqual([2442144158, 3238099751, 3819917871, 2104621829]);
    const draw = (seed: number | string) => {
      const random = seededRandom(seed);
      return Array.from({ length: 100 }, () => random.nextInt(1000));
    };
    expect(draw(0xdeadbeef)).toEqual(draw(0xdeadbeef));
    expect(draw('base:current')).toEqual(draw(seedFromString('base:current')));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('nextInt is uniform over [0, n) (chi-square goodness of fit over 100,000 draws)', () => {
    const random = seededRandom(42);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[random.nextInt(10)]++;
    const chi2 = counts.reduce((sum, observed) => sum + (observed - 10_000) ** 2 / 10_000, 0);
    expect(chiSquareSurvival(chi2, 9)).toBeGreaterThan(0.001);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });
});

describe('paired bootstrap', () => {
  /** n pairs with current = base + trueDelta + noise (Box-Muller normals from a seeded generator). */
  function synthetic(n: number, trueDelta: number, seed: number, noise = 0.1) {
    const random = seededRandom(seed);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
    const base = Array.from({ length: n }, () => 0.5 + 0.2 * normal());
    const current = base.map((value) => value + trueDelta + noise * normal());
    return { base, current };
  }

  it('the same data and seed give identical results; another seed differs only within noise', () => {
    const { base, current } = synthetic(150, 0.05, 7);
    const a = pairedBootstrap(base, current, { seed: 123 });
    expect(pairedBootstrap(base, current, { seed: 123 })).toEqual(a);
    const b = pairedBootstrap(base, current, { seed: 124 });
    expect(b.ciLow).not.toBe(a.ciLow);
    expect(Math.abs(b.ciLow! - a.ciLow!)).toBeLessThan(0.005);
    expect(a.resamples).toBe(2000);
  });

  it('the interval contains the true delta, is close to the normal-theory interval, and the effect is significant', () => {
    const { base, current } = synthetic(400, 0.03, 11);
    const result = pairedBootstrap(base, current);
    const differences = current.map((c, i) => c - base[i]);
    const mean = differences.reduce((s, d) => s + d, 0) / differences.length;
    const sd = Math.sqrt(differences.reduce((s, d) => s + (d - mean) ** 2, 0) / (differences.length - 1));
    expect(result.delta).toBeCloseTo(mean, 14);
    expect(result.ciLow!).toBeLessThan(0.03);
    expect(result.ciHigh!).toBeGreaterThan(0.03);
    const halfWidth = (1.96 * sd) / Math.sqrt(differences.length);
    expect((result.ciHigh! - result.ciLow!) / (2 * halfWidth)).toBeGreaterThan(0.9);
    expect((result.ciHigh! - result.ciLow!) / (2 * halfWidth)).toBeLessThan(1.1);
    expect(result.pValue).toBe(1 / 2001); // no resample as far from the centre as the observed delta
  });

  it('covers the true delta about 95% of the time, and rejects a true null about 5% of the time', () => {
    const datasets = 200;
    let covered = 0;
    let falseAlarms = 0;
    for (let k = 0; k < datasets; k++) {
      const effect = synthetic(60, 0.02, 1000 + k);
      const boot = pairedBootstrap(effect.base, effect.current, { resamples: 500, seed: k });
      if (boot.ciLow! <= 0.02 && 0.02 <= boot.ciHigh!) covered++;
      const none = synthetic(60, 0, 5000 + k);
      if (pairedBootstrap(none.base, none.current, { resamples: 500, seed: k }).pValue! < 0.05) falseAlarms++;
    }
    expect(covered / datasets).toBeGreaterThan(0.88);
    expect(covered / datasets).toBeLessThan(0.99);
    expect(falseAlarms / datasets).toBeLessThan(0.11);
  });

  it('no difference at all: delta 0, interval [0, 0], p = 1; a constant shift: a zero-width interval at the shift', () => {
    expect(pairedBootstrap([0.2, 0.5, 0.9], [0.2, 0.5, 0.9])).toMatchObject({ delta: 0, ciLow: 0, ciHigh: 0, pValue: 1 });
    const shifted = pairedBootstrap([1, 2, 3, 4], [2, 3, 4, 5], { resamples: 99 });
    expect(shifted).toMatchObject({ delta: 1, ciLow: 1, ciHigh: 1, pValue: 1 / 100 });
  });

  it('answers null where there is nothing to resample, and refuses bad input', () => {
    expect(pairedBootstrap([], [])).toEqual({ n: 0, resamples: 2000, delta: null, ciLow: null, ciHigh: null, pValue: null });
    expect(pairedBootstrap([3], [4])).toEqual({ n: 1, resamples: 2000, delta: 1, ciLow: null, ciHigh: null, pValue: null });
    expect(() => pairedBootstrap([1, 2], [1])).toThrow(RangeError);
    expect(() => pairedBootstrap([1, NaN], [1, 2])).toThrow(RangeError);
    expect(() => pairedBootstrap([1, 2], [1, 2], { resamples: 0 })).toThrow(RangeError);
    expect(() => pairedBootstrap([1, 2], [1, 2], { confidence: 1 })).toThrow(RangeError);
  });

  it('a 90% interval sits inside the 95% one', () => {
    const { base, current } = synthetic(80, 0.01, 3);
    const wide = pairedBootstrap(base, current);
    const narrow = pairedBootstrap(base, current, { confidence: 0.9 });
    expect(narrow.ciLow!).toBeGreaterThan(wide.ciLow!);
    expect(narrow.ciHigh!).toBeLessThan(wide.ciHigh!);
  });

  it('percentiles interpolate between order statistics like numpy.quantile', () => {
    const sorted = [1, 2, 4, 8, 16];
    expect(quantileSorted(sorted, 0)).toBe(1);
    expect(quantileSorted(sorted, 1)).toBe(16);
    expect(quantileSorted(sorted, 0.5)).toBe(4);
    expect(quantileSorted(sorted, 0.025)).toBeCloseTo(1.1, 14); // numpy.quantile([1,2,4,8,16], 0.025)
    expect(quantileSorted(sorted, 0.975)).toBeCloseTo(15.2, 14);
  });

  it('is quick enough for a request: 2,000 resamples of 10,000 pairs in well under a second', () => {
    const { base, current } = synthetic(10_000, 0.01, 5);
    const started = performance.now();
    pairedBootstrap(base, current);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
