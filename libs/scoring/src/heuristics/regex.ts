import { AssayError } from '@assay/contracts';
import type { CompileHeuristic } from './scorer';
import { fail, pass, selectField, show, textOf } from './values';

/**
 * REGEX: params.pattern (a JavaScript regular expression) with optional params.flags matches the
 * output field's text anywhere (anchor it with ^…$ for a full match). The expected value is not used.
 *
 * Not handled here: ReDoS. A catastrophically backtracking pattern on a long output blocks the
 * worker's event loop (acks and heartbeats included) until it finishes. Metric authors are trusted
 * today; running patterns on RE2 or in a worker thread with a time limit is the fix when they are not.
 */
export const compileRegex: CompileHeuristic = (definition) => {
  const { pattern, flags } = definition.params ?? {};
  if (typeof pattern !== 'string') {
    throw new AssayError('METRIC_CONFIG_INVALID', 'REGEX needs params.pattern, a JavaScript regular expression.');
  }
  if (flags !== undefined && flags !== null && typeof flags !== 'string') {
    throw new AssayError('METRIC_CONFIG_INVALID', `params.flags must be a string such as "i", not ${JSON.stringify(flags)}.`);
  }
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags ?? undefined);
  } catch (error) {
    throw new AssayError('METRIC_CONFIG_INVALID', `params.pattern does not compile: ${(error as Error).message}`);
  }
  const shown = `/${regex.source}/${regex.flags}`;
  return ({ outputs }) => {
    const got = selectField('output', outputs, definition.outputField);
    if (!got.found) return fail(`${got.why}: nothing to match ${shown} against`);
    regex.lastIndex = 0; // the g and y flags make test() start where the previous match ended
    return regex.test(textOf(got.value))
      ? pass(`${got.label} matches ${shown}`)
      : fail(`${got.label} ${show(got.value)} does not match ${shown}`);
  };
};
