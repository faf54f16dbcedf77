import { AssayError, HeuristicDefinition, HeuristicKind } from '@assay/contracts';
import { compileContains } from './contains';
import { compileExactMatch } from './exact-match';
import { compileJsonValid } from './json-valid';
import { compileLevenshtein } from './levenshtein';
import { compileNumericClose } from './numeric-close';
import { compileRegex } from './regex';
import type { CompileHeuristic, Scorer } from './scorer';
import type { HeuristicRecord, HeuristicResult } from './values';

/** The built-in kinds; CODE runs user code and needs the sandbox (see ../code). */
const compilers: Record<Exclude<HeuristicKind, 'CODE'>, CompileHeuristic> = {
  EXACT_MATCH: compileExactMatch,
  CONTAINS: compileContains,
  REGEX: compileRegex,
  JSON_VALID: compileJsonValid,
  LEVENSHTEIN: compileLevenshtein,
  NUMERIC_CLOSE: compileNumericClose,
};

/**
 * Reads a heuristic's params once and returns the function that scores records with it.
 * Throws AssayError METRIC_CONFIG_INVALID when the params cannot work (a regex that does not
 * compile, a negative tolerance, `caseSensitive: "no"`).
 */
export function compileHeuristic(definition: HeuristicDefinition): Scorer {
  if (definition.kind === 'CODE') {
    throw new AssayError('METRIC_CONFIG_INVALID', 'CODE heuristics run in the code sandbox: compile them with CodeSandbox, not compileHeuristic.');
  }
  const compile = Object.prototype.hasOwnProperty.call(compilers, definition.kind) ? compilers[definition.kind] : undefined;
  if (!compile) {
    throw new AssayError('METRIC_CONFIG_INVALID', `Unknown heuristic kind ${JSON.stringify(definition.kind)}: use one of ${Object.keys(compilers).join(', ')}.`);
  }
  return compile(definition);
}

/**
 * Scores one record with one heuristic: value 1/0 for the BOOLEAN kinds, 0..1 for LEVENSHTEIN, and
 * a short reasoning. A missing field scores 0 with a reasoning that says which; bad params throw
 * METRIC_CONFIG_INVALID. Pure: same definition and record, same result.
 */
export function scoreHeuristic(definition: HeuristicDefinition, record: HeuristicRecord): HeuristicResult {
  return compileHeuristic(definition)(record);
}
