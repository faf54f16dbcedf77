import { AssayError, HeuristicDefinition, OutputType } from '@assay/contracts';
import { assertValidParams } from './heuristic-params';

/** The output type each heuristic produces: a boolean check or a 0–1 similarity; CODE: any (the metric says). */
const outputTypeOf: Record<HeuristicDefinition['kind'], OutputType | null> = {
  EXACT_MATCH: 'BOOLEAN',
  CONTAINS: 'BOOLEAN',
  REGEX: 'BOOLEAN',
  JSON_VALID: 'BOOLEAN',
  LEVENSHTEIN: 'FLOAT',
  NUMERIC_CLOSE: 'BOOLEAN',
  CODE: null,
};

/** null: the heuristic scores in whatever output type the metric declares (CODE). */
export function heuristicOutputType(kind: HeuristicDefinition['kind']): OutputType | null {
  return outputTypeOf[kind];
}

/** Rejects a heuristic that could never score as meant: wrong output type, params it does not take or of the wrong type, a pattern RE2 cannot run. */
export function assertValidHeuristic(heuristic: HeuristicDefinition, outputType: OutputType): void {
  if (!Object.prototype.hasOwnProperty.call(outputTypeOf, heuristic.kind)) {
    throw new AssayError('METRIC_CONFIG_INVALID', `Unknown heuristic kind ${JSON.stringify(heuristic.kind)}: use one of ${Object.keys(outputTypeOf).join(', ')}.`);
  }
  if (heuristic.kind === 'CODE') {
    if (typeof heuristic.code !== 'string' || !heuristic.code.trim()) {
      throw new AssayError(
        'METRIC_CONFIG_INVALID',
        'A CODE heuristic needs code: JavaScript that defines `function score({inputs, outputs, expected}) { return {score, reasoning} }`.',
        { field: 'heuristic.code' },
      );
    }
    if (heuristic.outputField != null || heuristic.expectedField != null) {
      throw new AssayError('METRIC_CONFIG_INVALID', 'A CODE heuristic receives the whole record ({inputs, outputs, expected}): leave outputField and expectedField out.', {
        field: heuristic.outputField != null ? 'heuristic.outputField' : 'heuristic.expectedField',
      });
    }
    return;
  }
  if (heuristic.code != null) {
    throw new AssayError('METRIC_CONFIG_INVALID', `code belongs to CODE heuristics; a ${heuristic.kind} heuristic has none.`, { field: 'heuristic.code' });
  }
  const expected = outputTypeOf[heuristic.kind];
  if (expected !== outputType) {
    throw new AssayError('METRIC_CONFIG_INVALID', `${heuristic.kind} produces ${expected} scores: set outputType: ${expected}.`);
  }
  assertValidParams(heuristic.kind, heuristic.params ?? {});
}
