import { alignRecords } from './align';
import { compareMetricPairs, type PairedScore } from './compare';
import { mcnemarTest } from './mcnemar';
import { pairedBootstrap } from './bootstrap';

describe('aligning the records of two runs', () => {
  const r = (id: string, testcaseId: string | null, trial?: number | null) => ({ id, testcaseId, trial });

  it('pairs by testcase id and trial (absent trial = 0), sorted by testcase then trial', () => {
    const base = [r('b1', 'q2'), r('b2', 'q1', 0), r('b3', 'q1', 1), r('b4', 'q3')];
    const current = [r('c1', 'q1', 1), r('c2', 'q1', null), r('c3', 'q2', 0), r('c4', 'q4')];
    const { pairs, unpairedBase, unpairedCurrent } = alignRecords(base, current);
    expect(pairs.map((p) => [p.testcaseId, p.trial, p.base.id, p.current.id])).toEqual([
      ['q1', 0, 'b2', 'c2'],
      ['q1', 1, 'b3', 'c1'],
      ['q2', 0, 'b1', 'c3'],
    ]);
    expect(unpairedBase.map((x) => x.id)).toEqual(['b4']);
    expect(unpairedCurrent.map((x) => x.id)).toEqual(['c4']);
  });

  it('records without a testcase id are unpaired; a repeated (testcase, trial) pairs its first record only', () => {
    const base = [r('b1', null), r('b2', 'q1'), r('b3', 'q1'), r('b4', undefined as unknown as null)];
    const current = [r('c1', 'q1'), r('c2', null), r('c3', 'q1', 0)];
    const { pairs, unpairedBase, unpairedCurrent } = alignRecords(base, current);
    expect(pairs.map((p) => [p.base.id, p.current.id])).toEqual([['b2', 'c1']]);
    expect(unpairedBase.map((x) => x.id).sort()).toEqual(['b1', 'b3', 'b4']);
    expect(unpairedCurrent.map((x) => x.id).sort()).toEqual(['c2', 'c3']);
  });

  it('orders testcase ids by code unit, not locale, and keeps ids with separators apart', () => {
    const ids = ['b', 'B', 'a|1', 'a', 'ä', '10', '9'];
    const { pairs } = alignRecords(ids.map((id) => r(`b-${id}`, id)), [...ids].reverse().map((id) => r(`c-${id}`, id)));
    expect(pairs.map((p) => p.testcaseId)).toEqual(['10', '9', 'B', 'a', 'a|1', 'b', 'ä']);
    const tricky = alignRecords([r('b', 'x', 1)], [r('c', 'x,1', 0)]);
    expect(tricky.pairs).toEqual([]);
  });

  it('two empty runs align to nothing', () => {
    expect(alignRecords([], [])).toEqual({ pairs: [], unpairedBase: [], unpairedCurrent: [] });
  });
});

describe('comparing one metric over paired records', () => {
  const pair = (testcaseId: string, base: [number, boolean], current: [number, boolean], trial = 0): PairedScore => ({
    testcaseId,
    trial,
    base: { value: base[0], passed: base[1] },
    current: { value: current[0], passed: current[1] },
  });
  const bool = (testcaseId: string, base: boolean, current: boolean) => pair(testcaseId, [Number(base), base], [Number(current), current]);

  it('BOOLEAN: McNemar on the discordant pairs, the paired pass-rate difference and its interval, the flipped testcases', () => {
    const pairs = [bool('t5', true, false), bool('t1', true, true), bool('t2', false, true), bool('t3', false, true), bool('t4', false, false), bool('t6', false, true)];
    const result = compareMetricPairs('BOOLEAN', pairs);
    expect(result.significance).toMatchObject({
      method: 'MCNEMAR_EXACT',
      pairs: 6,
      delta: 2 / 6,
      pValue: mcnemarTest(1, 3).pValue,
      statistic: null,
      resamples: null,
      discordantBaseOnly: 1,
      discordantCurrentOnly: 3,
    });
    expect(result.significance.pValue).toBe(0.625); // 2·P(X ≤ 1), X ~ Bin(4, ½) = 2·5/16
    expect(result.significance.ciLow!).toBeLessThan(2 / 6);
    expect(result.significance.ciHigh!).toBeGreaterThan(2 / 6);
    expect(result.regressed).toEqual([{ testcaseId: 't5', trial: 0, baseValue: 1, value: 0, basePassed: true, passed: false }]);
    expect(result.improved.map((c) => c.testcaseId)).toEqual(['t2', 't3', 't6']);
  });

  it('BOOLEAN with many discordant pairs switches to the chi-square test', () => {
    const pairs = [
      ...Array.from({ length: 30 }, (_, i) => bool(`r${i}`, true, false)),
      ...Array.from({ length: 10 }, (_, i) => bool(`i${i}`, false, true)),
      ...Array.from({ length: 60 }, (_, i) => bool(`s${i}`, true, true)),
    ];
    const { significance } = compareMetricPairs('BOOLEAN', pairs);
    expect(significance).toMatchObject({ method: 'MCNEMAR_CHI_SQUARE', pairs: 100, delta: -0.2, discordantBaseOnly: 30, discordantCurrentOnly: 10 });
    expect(significance.statistic).toBeCloseTo(19 ** 2 / 40, 12);
    expect(significance.pValue).toBe(mcnemarTest(30, 10).pValue);
  });

  it('FLOAT: the paired bootstrap of the mean over the pairs in testcase order, whatever the input order', () => {
    const pairs = Array.from({ length: 40 }, (_, i) => pair(`t${String(i).padStart(2, '0')}`, [0.5 + (i % 7) / 20, true], [0.55 + (i % 5) / 20, true]));
    const result = compareMetricPairs('FLOAT', pairs, { seed: 9 });
    const expected = pairedBootstrap(pairs.map((p) => p.base.value), pairs.map((p) => p.current.value), { seed: 9 });
    expect(result.significance).toEqual({
      method: 'PAIRED_BOOTSTRAP',
      pairs: 40,
      delta: expected.delta,
      pValue: expected.pValue,
      ciLow: expected.ciLow,
      ciHigh: expected.ciHigh,
      statistic: null,
      resamples: 2000,
      discordantBaseOnly: 0,
      discordantCurrentOnly: 0,
    });
    const shuffled = [...pairs].reverse();
    expect(compareMetricPairs('FLOAT', shuffled, { seed: 9 })).toEqual(result);
  });

  it('INT: regressed are the pairs that fell below the threshold (largest drop first), improved those that rose above it', () => {
    const pairs = [
      pair('a', [5, true], [3, false]),
      pair('b', [4, true], [1, false]),
      pair('c', [4, true], [3, false]),
      pair('d', [2, false], [5, true]),
      pair('e', [3, false], [4, true]),
      pair('f', [5, true], [4, true]), // dropped, but still passes: not a regression
      pair('g', [1, false], [3, false]),
    ];
    const result = compareMetricPairs('INT', pairs);
    expect(result.regressed.map((c) => [c.testcaseId, c.baseValue, c.value])).toEqual([['b', 4, 1], ['a', 5, 3], ['c', 4, 3]]);
    expect(result.improved.map((c) => [c.testcaseId, c.baseValue, c.value])).toEqual([['d', 2, 5], ['e', 3, 4]]);
    expect(result.significance).toMatchObject({ method: 'PAIRED_BOOTSTRAP', discordantBaseOnly: 3, discordantCurrentOnly: 2 });
    expect(result.significance.delta).toBeCloseTo(-1 / 7, 14); // (−2 −3 −1 +3 +1 −1 +2) / 7
  });

  it('no pairs: nothing to test, every figure null', () => {
    expect(compareMetricPairs('BOOLEAN', []).significance).toMatchObject({ pairs: 0, delta: null, pValue: null, ciLow: null, ciHigh: null });
    expect(compareMetricPairs('FLOAT', []).significance).toMatchObject({ pairs: 0, delta: null, pValue: null, ciLow: null, ciHigh: null });
  });
});
