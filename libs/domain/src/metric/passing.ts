import { AssayError, OutputType } from '@assay/contracts';

/** Default thresholds: what "good" means when the user does not say. */
export function defaultPassingThreshold(outputType: OutputType): number {
  switch (outputType) {
    case 'BOOLEAN':
      return 1;
    case 'INT':
      return 4;
    case 'FLOAT':
      return 0.9;
  }
}

/** The range a score value of this output type must fall in. */
export function valueRange(outputType: OutputType): { min: number; max: number; integer: boolean } {
  switch (outputType) {
    case 'BOOLEAN':
      return { min: 0, max: 1, integer: true };
    case 'INT':
      return { min: 1, max: 5, integer: true };
    case 'FLOAT':
      return { min: 0, max: 1, integer: false };
  }
}

export function assertValidThreshold(outputType: OutputType, threshold: number): void {
  const { min, max } = valueRange(outputType);
  if (!Number.isFinite(threshold) || threshold < min || threshold > max) {
    throw new AssayError(
      'BAD_USER_INPUT',
      `passingThreshold ${threshold} is out of range for ${outputType} metrics: use a value from ${min} to ${max}.`,
      { field: 'passingThreshold', min, max },
    );
  }
}

export function assertValidScoreValue(outputType: OutputType, value: number): void {
  const { min, max, integer } = valueRange(outputType);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new AssayError(
      'BAD_USER_INPUT',
      `Score ${value} is not a valid ${outputType} value: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}.`,
    );
  }
}

/** A score passes when it reaches the threshold; for BOOLEAN metrics, true (1) passes. */
export function isPassing(outputType: OutputType, threshold: number, value: number): boolean {
  return outputType === 'BOOLEAN' ? value === 1 : value >= threshold;
}
