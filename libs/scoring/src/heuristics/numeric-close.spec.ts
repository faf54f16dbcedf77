import type { HeuristicDefinition } from '@assay/contracts';
import { numberOf } from './numeric-close';
import { compileHeuristic, scoreHeuristic } from './score-heuristic';

const close = (params?: Record<string, unknown>, extra: Partial<HeuristicDefinition> = {}): HeuristicDefinition => ({ kind: 'NUMERIC_CLOSE', params, ...extra });

describe('numberOf', () => {
  it.each([
    [42, 42],
    [-0.5, -0.5],
    ['42', 42],
    [' -3.5 ', -3.5],
    ['+7', 7],
    ['1e-3', 0.001],
    ['.5', 0.5],
    ['5.', 5],
    ['', undefined],
    ['  ', undefined],
    ['0x10', undefined],
    ['1,000', undefined],
    ['Infinity', undefined],
    ['NaN', undefined],
    ['12abc', undefined],
    ['1e999', undefined],
    [true, undefined],
    [null, undefined],
    [{ value: 1 }, undefined],
    [[1], undefined],
    [Number.NaN, undefined],
  ])('numberOf(%j) = %j', (value, expected) => {
    expect(numberOf(value)).toBe(expected);
  });
});

describe('NUMERIC_CLOSE', () => {
  it.each([
    ['equal numbers, default tolerance 0', close(), 42, 42, 1, '|42 − 42| = 0 ≤ tolerance 0'],
    ['different numbers, default tolerance 0', close(), 42, 43, 0, 'expected 43 ± 0, got 42 (off by 1)'],
    ['within tolerance', close({ tolerance: 0.5 }), 3.3, 3, 1, '|3.3 − 3| = 0.3 ≤ tolerance 0.5'],
    ['outside tolerance', close({ tolerance: 0.1 }), 3.3, 3, 0, 'expected 3 ± 0.1, got 3.3 (off by 0.3)'],
    ['exactly at the tolerance, despite binary rounding', close({ tolerance: 0.01 }), 1.01, 1, 1, '|1.01 − 1| = 0.01 ≤ tolerance 0.01'],
    ['0.1 + 0.2 vs 0.3 with tolerance 0', close(), 0.1 + 0.2, 0.3, 1, '|0.30000000000000004 − 0.3| = 5.55112e-17 ≤ tolerance 0'],
    ['numeric strings on both sides', close({ tolerance: 1 }), ' 10 ', '11', 1, '|10 − 11| = 1 ≤ tolerance 1'],
    ['number vs numeric string', close(), 7, '7.0', 1, '|7 − 7| = 0 ≤ tolerance 0'],
    ['negative numbers', close({ tolerance: 0.5 }), -1.2, '-1', 1, '|-1.2 − -1| = 0.2 ≤ tolerance 0.5'],
    ['scientific notation', close(), '1e3', 1000, 1, '|1000 − 1000| = 0 ≤ tolerance 0'],
    ['tolerance null means 0', close({ tolerance: null }), 1, 1, 1, '|1 − 1| = 0 ≤ tolerance 0'],
    ['a non-numeric output', close(), 'about 42', 42, 0, "expected 42, but output is not a number: 'about 42'"],
    ['a boolean output', close(), true, 1, 0, 'expected 1, but output is not a number: a boolean (true)'],
    ['an object output', close(), { value: 1 }, 1, 0, 'expected 1, but output is not a number: an object ({"value":1})'],
    ['a non-numeric expected', close(), 42, 'forty-two', 0, "expected is not a number: 'forty-two'"],
    ['nested fields', close({ tolerance: 0.01 }, { outputField: 'result.value', expectedField: 'value' }), { result: { value: '3.14159' } }, { value: 3.14 }, 1, '|3.14159 − 3.14| = 0.00159 ≤ tolerance 0.01'],
    ['a missing output field', close({}, { outputField: 'value' }), {}, 1, 0, "expected 1, but output.value is missing: output has no field 'value'"],
    ['a missing expected value', close(), 1, null, 0, 'expected is empty (null): nothing to compare with'],
  ])('%s', (_name, definition, outputs, expected, value, reasoning) => {
    expect(scoreHeuristic(definition, { outputs, expected })).toEqual({ value, reasoning });
  });

  it.each([
    ['a negative tolerance', { tolerance: -1 }],
    ['a string tolerance', { tolerance: '0.1' }],
    ['a NaN tolerance', { tolerance: Number.NaN }],
  ])('rejects %s with METRIC_CONFIG_INVALID', (_name, params) => {
    expect(() => compileHeuristic(close(params))).toThrow(expect.objectContaining({ code: 'METRIC_CONFIG_INVALID', message: expect.stringMatching(/^params\.tolerance must be a number ≥ 0/) }));
  });
});
