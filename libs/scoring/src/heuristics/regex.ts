import { regexParams } from '@assay/domain';
import type { CompileHeuristic } from './scorer';
import { fail, pass, selectField, show, textOf } from './values';

/**
 * REGEX: params.pattern with optional params.flags matches the output field's text anywhere (anchor
 * it with ^…$ for a full match). The expected value is not used. The pattern runs on RE2 (see
 * regexParams): its time is linear in the text's length, so no pattern can stall the worker.
 */
export const compileRegex: CompileHeuristic = (definition) => {
  const { regex, shown } = regexParams(definition.params ?? {});
  return ({ outputs }) => {
    const got = selectField('output', outputs, definition.outputField);
    if (!got.found) return fail(`${got.why}: nothing to match ${shown} against`);
    return regex.test(textOf(got.value))
      ? pass(`${got.label} matches ${shown}`)
      : fail(`${got.label} ${show(got.value)} does not match ${shown}`);
  };
};
