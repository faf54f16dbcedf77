import { AssayError, HeuristicDefinition } from '@assay/contracts';

/**
 * Reading a heuristic's params. A wrongly typed param throws METRIC_CONFIG_INVALID instead of being
 * read loosely: `caseSensitive: "false"` silently meaning true would score a whole run wrong.
 */
export type Params = NonNullable<HeuristicDefinition['params']>;

export function booleanParam(params: Params, name: string, fallback: boolean): boolean {
  const value = params[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    throw new AssayError('METRIC_CONFIG_INVALID', `params.${name} must be true or false, not ${JSON.stringify(value)}.`);
  }
  return value;
}

export interface TextOptions {
  readonly caseSensitive: boolean;
  readonly trim: boolean;
}

/** caseSensitive (default true) and trim (default true), shared by the text comparisons. */
export function textOptions(params: Params): TextOptions {
  return { caseSensitive: booleanParam(params, 'caseSensitive', true), trim: booleanParam(params, 'trim', true) };
}

/**
 * Text as compared: Unicode NFC (so "é" typed as one code point equals "e" + combining accent),
 * trimmed if asked, and case-folded when not case sensitive. Folding goes through upper case first
 * so that "ß" meets "SS" and "ς" meets "Σ".
 */
export function normalizeText(text: string, options: TextOptions): string {
  let result = text.normalize('NFC');
  if (options.trim) result = result.trim();
  if (!options.caseSensitive) result = result.toUpperCase().toLowerCase();
  return result;
}

export function describeOptions(options: TextOptions): string {
  return options.caseSensitive ? '' : ' (ignoring case)';
}
