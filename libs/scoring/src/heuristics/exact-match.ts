import { textParams } from '@assay/domain';
import { describeOptions, normalizeText } from './normalize-text';
import type { CompileHeuristic } from './scorer';
import { fail, pass, selectField, show, textOf } from './values';

/** EXACT_MATCH: the output field's text equals the expected field's text. params: caseSensitive, trim (both default true). */
export const compileExactMatch: CompileHeuristic = (definition) => {
  const options = textParams(definition.params ?? {});
  return ({ outputs, expected }) => {
    const want = selectField('expected', expected, definition.expectedField);
    if (!want.found) return fail(`${want.why}: nothing to compare with`);
    const got = selectField('output', outputs, definition.outputField);
    if (!got.found) return fail(`expected ${show(want.value)}, but ${got.why}`);
    const equal = normalizeText(textOf(got.value), options) === normalizeText(textOf(want.value), options);
    return equal
      ? pass(`${got.label} equals ${show(want.value)}${describeOptions(options)}`)
      : fail(`expected ${show(want.value)}, got ${show(got.value)}${describeOptions(options)}`);
  };
};
