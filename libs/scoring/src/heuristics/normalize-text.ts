import type { TextParams } from '@assay/domain';

/**
 * Text as compared: Unicode NFC (so "é" typed as one code point equals "e" + combining accent),
 * trimmed if asked, and case-folded when not case sensitive. Folding goes through upper case first
 * so that "ß" meets "SS" and "ς" meets "Σ".
 */
export function normalizeText(text: string, options: TextParams): string {
  let result = text.normalize('NFC');
  if (options.trim) result = result.trim();
  if (!options.caseSensitive) result = result.toUpperCase().toLowerCase();
  return result;
}

export function describeOptions(options: TextParams): string {
  return options.caseSensitive ? '' : ' (ignoring case)';
}
