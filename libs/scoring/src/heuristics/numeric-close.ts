import { numericCloseParams } from '@assay/domain';
import type { CompileHeuristic } from './scorer';
import { aJsonType, fail, pass, Selected, selectField, show } from './values';

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A number, or a string holding a plain decimal number ("42", " -3.5 ", "1e-3"). Hexadecimal,
 * thousands separators, "Infinity" and the empty string are not numbers here, although JavaScript's
 * Number() accepts some of them.
 */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (!DECIMAL.test(text)) return undefined;
  const parsed = Number(text);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function reasonNotNumeric(selected: Extract<Selected, { found: true }>): string {
  const what = typeof selected.value === 'string' ? show(selected.value) : `${aJsonType(selected.value)} (${show(selected.value)})`;
  return `${selected.label} is not a number: ${what}`;
}

/**
 * NUMERIC_CLOSE: |output − expected| ≤ params.tolerance (default 0). Both fields are numbers or
 * numeric strings. The comparison allows for binary floating-point rounding, so 1.01 vs 1.00 passes
 * a tolerance of 0.01 although 1.01 − 1.00 is 0.010000000000000009 in doubles.
 */
export const compileNumericClose: CompileHeuristic = (definition) => {
  const { tolerance } = numericCloseParams(definition.params ?? {});
  return ({ outputs, expected }) => {
    const want = selectField('expected', expected, definition.expectedField);
    if (!want.found) return fail(`${want.why}: nothing to compare with`);
    const wanted = numberOf(want.value);
    if (wanted === undefined) return fail(reasonNotNumeric(want));
    const got = selectField('output', outputs, definition.outputField);
    if (!got.found) return fail(`expected ${wanted}, but ${got.why}`);
    const actual = numberOf(got.value);
    if (actual === undefined) return fail(`expected ${wanted}, but ${reasonNotNumeric(got)}`);
    const difference = Math.abs(actual - wanted);
    const rounding = 4 * Number.EPSILON * Math.max(Math.abs(actual), Math.abs(wanted), tolerance);
    const shownDifference = Number(difference.toPrecision(6));
    return difference <= tolerance + rounding
      ? pass(`|${actual} − ${wanted}| = ${shownDifference} ≤ tolerance ${tolerance}`)
      : fail(`expected ${wanted} ± ${tolerance}, got ${actual} (off by ${shownDifference})`);
  };
};
