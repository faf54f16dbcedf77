import { textParams } from '@assay/domain';
import { describeOptions, normalizeText } from './normalize-text';
import type { CompileHeuristic } from './scorer';
import { fail, pass, selectField, show, textOf } from './values';

/**
 * CONTAINS: the output field's text contains the expected field's text. params: caseSensitive and
 * trim (of the expected text), both default true. An empty expected text fails: every output
 * "contains" it, which would hide a record that lacks its expected value.
 */
export const compileContains: CompileHeuristic = (definition) => {
  const options = textParams(definition.params ?? {});
  return ({ outputs, expected }) => {
    const want = selectField('expected', expected, definition.expectedField);
    if (!want.found) return fail(`${want.why}: nothing to look for`);
    const needle = normalizeText(textOf(want.value), options);
    if (needle === '') return fail(`${want.label} is empty: nothing to look for`);
    const got = selectField('output', outputs, definition.outputField);
    if (!got.found) return fail(`looked for ${show(want.value)}, but ${got.why}`);
    const haystack = normalizeText(textOf(got.value), { ...options, trim: false });
    return haystack.includes(needle)
      ? pass(`${got.label} contains ${show(want.value)}${describeOptions(options)}`)
      : fail(`${got.label} ${show(got.value)} does not contain ${show(want.value)}${describeOptions(options)}`);
  };
};
