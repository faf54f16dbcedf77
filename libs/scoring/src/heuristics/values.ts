/**
 * Shared plumbing of the heuristics: picking a field out of a record's outputs or expected value,
 * turning JSON values into comparable text, and showing values in a short, human reasoning.
 */
import { canonicalJson } from '@assay/domain';

/** A record as the heuristics see it: three JSON values. */
export interface HeuristicRecord {
  readonly inputs?: unknown;
  readonly outputs: unknown;
  readonly expected: unknown;
}

export interface HeuristicResult {
  /** 1/0 for BOOLEAN heuristics, 0..1 for LEVENSHTEIN. */
  readonly value: number;
  /** Short and human: "expected 'Paris', got 'paris'". */
  readonly reasoning: string;
}

export type Side = 'output' | 'expected';

/** A field's value, or why there is none. */
export type Selected =
  | { readonly found: true; readonly value: unknown; readonly label: string }
  | { readonly found: false; readonly label: string; readonly why: string };

const hasOwn = (target: object, key: string) => Object.prototype.hasOwnProperty.call(target, key);

/**
 * Selects `path` ("answer", "choices.0.text") in `root`. An absent, null or empty path selects the
 * whole value. Segments index arrays when numeric, otherwise name own properties (never inherited
 * ones such as "constructor"). Keys that contain a dot cannot be addressed.
 *
 * A null value counts as missing: a record without an expected value is stored with `expected: null`,
 * and scoring that as the text "null" would pass outputs that say "null".
 */
export function selectField(side: Side, root: unknown, path: string | null | undefined): Selected {
  const label = path ? `${side}.${path}` : side;
  if (!path) {
    return root === null || root === undefined ? { found: false, label, why: `${side} is empty (null)` } : { found: true, value: root, label };
  }
  let current: unknown = root;
  let at: string = side;
  for (const segment of path.split('.')) {
    if (current === null || current === undefined) {
      return { found: false, label, why: `${label} is missing: ${at} is null` };
    }
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(segment)) {
        return { found: false, label, why: `${label} is missing: ${at} is a list, and '${segment}' is not an index` };
      }
      const index = Number(segment);
      if (index >= current.length) {
        return { found: false, label, why: `${label} is missing: ${at} has ${current.length} item(s), no index ${index}` };
      }
      current = current[index];
    } else if (typeof current === 'object') {
      if (!hasOwn(current, segment)) {
        return { found: false, label, why: `${label} is missing: ${at} has no field '${segment}'` };
      }
      current = (current as Record<string, unknown>)[segment];
    } else {
      return { found: false, label, why: `${label} is missing: ${at} is ${aJsonType(current)}, not an object` };
    }
    at = `${at}.${segment}`;
  }
  if (current === null || current === undefined) return { found: false, label, why: `${label} is null` };
  return { found: true, value: current, label };
}

/** The text a value is compared as: strings as they are, anything else as canonical JSON. */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : canonicalJson(value);
}

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** "a string", "an object", "a list"… */
export function aJsonType(value: unknown): string {
  const type = jsonType(value);
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

const SHOWN_CODE_POINTS = 80;

/** A value as shown in a reasoning: quoted, escaped, cut to 80 code points. */
export function show(value: unknown): string {
  const text = textOf(value);
  const codePoints = Array.from(text.length > SHOWN_CODE_POINTS * 2 + 2 ? text.slice(0, SHOWN_CODE_POINTS * 2 + 2) : text);
  const cut = codePoints.length > SHOWN_CODE_POINTS ? `${codePoints.slice(0, SHOWN_CODE_POINTS).join('')}…` : text;
  const escaped = cut.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t').replace(/'/g, "\\'");
  return typeof value === 'string' ? `'${escaped}'` : escaped;
}

export const pass = (reasoning: string): HeuristicResult => ({ value: 1, reasoning });
export const fail = (reasoning: string): HeuristicResult => ({ value: 0, reasoning });
