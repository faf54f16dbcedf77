import { AssayError, HeuristicDefinition, HeuristicKind } from '@assay/contracts';
import { RE2JS } from 're2js';
import { regexToRe2 } from './regex-to-re2';

/**
 * The params of the built-in heuristics, read in one place: when a metric is created (strictly:
 * unknown names are refused too) and when a worker compiles it for scoring. A param of the wrong
 * type is refused, never read loosely: `caseSensitive: "false"` silently meaning true would score a
 * whole run wrong.
 */
export type Params = NonNullable<HeuristicDefinition['params']>;
type BuiltinKind = Exclude<HeuristicKind, 'CODE'>;

const PARAM_NAMES: Record<BuiltinKind, readonly string[]> = {
  EXACT_MATCH: ['caseSensitive', 'trim'],
  CONTAINS: ['caseSensitive', 'trim'],
  LEVENSHTEIN: ['caseSensitive', 'trim'],
  REGEX: ['pattern', 'flags'],
  JSON_VALID: [],
  NUMERIC_CLOSE: ['tolerance'],
};

/** caseSensitive (default true) and trim (default true), read by the text comparisons. */
export interface TextParams {
  readonly caseSensitive: boolean;
  readonly trim: boolean;
}

export interface RegexParams {
  /** Compiled for RE2: matching takes time linear in the text's length, whatever the pattern. */
  readonly regex: RE2JS;
  /** The pattern as the user wrote it, with its flags: `/^\d+$/i`. */
  readonly shown: string;
}

export interface NumericCloseParams {
  /** Absolute: |output − expected| ≤ tolerance. */
  readonly tolerance: number;
}

/** Refuses params a kind does not read (a misspelt `case_sensitive` would otherwise be ignored). */
export function assertKnownParams(kind: BuiltinKind, params: Params): void {
  const known = PARAM_NAMES[kind];
  const unknown = Object.keys(params).filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  const takes = known.length ? `it takes ${known.join(', ')}` : 'it takes none';
  throw new AssayError('METRIC_CONFIG_INVALID', `${kind} has no param ${unknown.map((name) => `"${name}"`).join(', ')}: ${takes}.`, {
    field: `heuristic.params.${unknown[0]}`,
  });
}

export function textParams(params: Params): TextParams {
  return { caseSensitive: booleanParam(params, 'caseSensitive', true), trim: booleanParam(params, 'trim', true) };
}

/**
 * params.pattern with optional params.flags. Patterns are RE2 syntax, JavaScript's without
 * backreferences and lookaround: a user's pattern then never backtracks catastrophically, which in
 * JavaScript's engine can hold a worker (acks and heartbeats included) for hours on one output.
 * Where the same text means something else in RE2 (`\s`, `.`, `\u…`, the y flag), it is read as
 * JavaScript reads it (regex-to-re2.ts).
 */
export function regexParams(params: Params): RegexParams {
  const { pattern, flags = '' } = params;
  if (typeof pattern !== 'string') {
    throw new AssayError('METRIC_CONFIG_INVALID', 'REGEX needs params.pattern, a regular expression such as "^\\\\d+$".', { field: 'heuristic.params.pattern' });
  }
  if (typeof flags !== 'string' && flags !== null) {
    throw new AssayError('METRIC_CONFIG_INVALID', `params.flags must be a string such as "i", not ${JSON.stringify(flags)}.`, { field: 'heuristic.params.flags' });
  }
  const flagText = flags ?? '';
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(regexToRe2(pattern, { dotAll: flagText.includes('s'), sticky: flagText.includes('y') }), re2Flags(flagText));
  } catch (error) {
    if (error instanceof AssayError) throw error;
    throw new AssayError(
      'METRIC_CONFIG_INVALID',
      `params.pattern ${JSON.stringify(pattern)} cannot be used: ${(error as Error).message}. ` +
        'Patterns follow RE2 syntax: as in JavaScript, but without backreferences (\\1) or lookaround ((?=…), (?<=…)).',
      { field: 'heuristic.params.pattern' },
    );
  }
  return { regex, shown: `/${pattern}/${flagText}` };
}

export function numericCloseParams(params: Params): NumericCloseParams {
  const raw = params.tolerance;
  const tolerance = raw === undefined || raw === null ? 0 : raw;
  if (typeof tolerance !== 'number' || !(tolerance >= 0) || !Number.isFinite(tolerance)) {
    throw new AssayError('METRIC_CONFIG_INVALID', `params.tolerance must be a number ≥ 0, not ${JSON.stringify(raw)}.`, { field: 'heuristic.params.tolerance' });
  }
  return { tolerance };
}

/** Every param of a built-in heuristic checked, as at metric creation: names, types, the pattern. */
export function assertValidParams(kind: BuiltinKind, params: Params): void {
  assertKnownParams(kind, params);
  if (kind === 'REGEX') regexParams(params);
  else if (kind === 'NUMERIC_CLOSE') numericCloseParams(params);
  else if (kind !== 'JSON_VALID') textParams(params);
}

function booleanParam(params: Params, name: string, fallback: boolean): boolean {
  const value = params[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    throw new AssayError('METRIC_CONFIG_INVALID', `params.${name} must be true or false, not ${JSON.stringify(value)}.`, { field: `heuristic.params.${name}` });
  }
  return value;
}

/** JavaScript's flags in RE2's terms: i, m, s change matching (y too, in regexToRe2); g, u, d change nothing when testing for a match. */
function re2Flags(flags: string): number {
  let result = 0;
  for (const [i, flag] of [...flags].entries()) {
    if (flags.indexOf(flag) !== i || !'imsgyud'.includes(flag)) {
      throw new AssayError('METRIC_CONFIG_INVALID', `params.flags ${JSON.stringify(flags)} is not valid: use each of i, m, s, y at most once (g, u and d are accepted and change nothing).`, {
        field: 'heuristic.params.flags',
      });
    }
    if (flag === 'i') result |= RE2JS.CASE_INSENSITIVE;
    if (flag === 'm') result |= RE2JS.MULTILINE;
    if (flag === 's') result |= RE2JS.DOTALL;
  }
  return result;
}
