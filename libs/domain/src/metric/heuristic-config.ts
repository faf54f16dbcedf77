import { AssayError, HeuristicDefinition, OutputType } from '@assay/contracts';

/** The output type each heuristic produces: a boolean check or a 0–1 similarity. */
const outputTypeOf: Record<HeuristicDefinition['kind'], OutputType> = {
  EXACT_MATCH: 'BOOLEAN',
  CONTAINS: 'BOOLEAN',
  REGEX: 'BOOLEAN',
  JSON_VALID: 'BOOLEAN',
  LEVENSHTEIN: 'FLOAT',
  NUMERIC_CLOSE: 'BOOLEAN',
};

export function heuristicOutputType(kind: HeuristicDefinition['kind']): OutputType {
  return outputTypeOf[kind];
}

/** Rejects a heuristic that could never score: wrong output type, a regex that does not compile, a bad tolerance. */
export function assertValidHeuristic(heuristic: HeuristicDefinition, outputType: OutputType): void {
  const expected = outputTypeOf[heuristic.kind];
  if (expected !== outputType) {
    throw new AssayError('METRIC_CONFIG_INVALID', `${heuristic.kind} produces ${expected} scores: set outputType: ${expected}.`);
  }
  const params = heuristic.params ?? {};
  if (heuristic.kind === 'REGEX') {
    if (typeof params.pattern !== 'string') {
      throw new AssayError('METRIC_CONFIG_INVALID', 'REGEX needs params.pattern, a JavaScript regular expression.');
    }
    try {
      new RegExp(params.pattern, typeof params.flags === 'string' ? params.flags : undefined);
    } catch (error) {
      throw new AssayError('METRIC_CONFIG_INVALID', `params.pattern does not compile: ${(error as Error).message}`);
    }
  }
  if (heuristic.kind === 'NUMERIC_CLOSE' && params.tolerance !== undefined) {
    if (typeof params.tolerance !== 'number' || !(params.tolerance >= 0)) {
      throw new AssayError('METRIC_CONFIG_INVALID', 'params.tolerance must be a number ≥ 0.');
    }
  }
}
