import type { CompileHeuristic } from './scorer';
import { aJsonType, fail, jsonType, pass, selectField } from './values';

/**
 * JSON_VALID: the output field is a JSON document, that is an object or a list: stored as one, or a
 * string that parses to one. Anything else fails: a bare number, boolean or string (a value, not a
 * document), and equally a string that parses to one ("42", "null", "\"hi\""). The expected value is
 * not used.
 */
export const compileJsonValid: CompileHeuristic = (definition) => {
  return ({ outputs }) => {
    const got = selectField('output', outputs, definition.outputField);
    if (!got.found) return fail(got.why);
    const value = got.value;
    if (typeof value === 'object') return pass(`${got.label} is a JSON ${jsonType(value)}`);
    if (typeof value !== 'string') return fail(`${got.label} is ${aJsonType(value)}, not a JSON document or a string holding one`);
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed !== null && typeof parsed === 'object') return pass(`${got.label} parses as JSON (${jsonType(parsed)})`);
      return fail(`${got.label} parses as JSON to ${parsed === null ? 'null' : aJsonType(parsed)}, not an object or a list`);
    } catch (error) {
      const hint = /^\s*```/.test(value) ? ' (it is wrapped in a Markdown code fence)' : '';
      const message = (error as Error).message;
      return fail(`${got.label} is not valid JSON${hint}: ${message.length > 120 ? `${message.slice(0, 120)}…` : message}`);
    }
  };
};
