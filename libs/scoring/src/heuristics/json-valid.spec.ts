import type { HeuristicDefinition } from '@assay/contracts';
import { scoreHeuristic } from './score-heuristic';

const jsonValid = (extra: Partial<HeuristicDefinition> = {}): HeuristicDefinition => ({ kind: 'JSON_VALID', ...extra });

describe('JSON_VALID', () => {
  it.each([
    ['an object', {}, { a: 1 }, 1, 'output is a JSON object'],
    ['a list', {}, [1, 2], 1, 'output is a JSON list'],
    ['a string holding an object', {}, '{"a": [1, 2]}', 1, 'output parses as JSON (object)'],
    ['a string holding a list with whitespace', {}, '  [1]\n', 1, 'output parses as JSON (list)'],
    ['a string holding unicode', {}, '{"emoji":"👍","é":"\\u00e9"}', 1, 'output parses as JSON (object)'],
    ['a nested field holding JSON text', { outputField: 'raw' }, { raw: '{"ok":true}' }, 1, 'output.raw parses as JSON (object)'],
    ['a nested object field', { outputField: 'parsed' }, { parsed: { ok: true } }, 1, 'output.parsed is a JSON object'],
    ['a bare number', {}, 42, 0, 'output is a number, not a JSON document or a string holding one'],
    ['a bare boolean', {}, false, 0, 'output is a boolean, not a JSON document or a string holding one'],
    ['null', {}, null, 0, 'output is empty (null)'],
    // A string holding a bare value is no more a document than the value itself.
    ['a string holding a number', {}, '42', 0, 'output parses as JSON to a number, not an object or a list'],
    ['a string holding null', {}, 'null', 0, 'output parses as JSON to null, not an object or a list'],
    ['a string holding a string', {}, '"hi"', 0, 'output parses as JSON to a string, not an object or a list'],
    ['a string holding a boolean', {}, ' true ', 0, 'output parses as JSON to a boolean, not an object or a list'],
    ['a nested field holding a number as text', { outputField: 'raw' }, { raw: '-1.5e3' }, 0, 'output.raw parses as JSON to a number, not an object or a list'],
    ['a missing field', { outputField: 'raw' }, {}, 0, "output.raw is missing: output has no field 'raw'"],
  ])('%s', (_name, extra, outputs, value, reasoning) => {
    expect(scoreHeuristic(jsonValid(extra), { outputs, expected: null })).toEqual({ value, reasoning });
  });

  it.each([
    ['a trailing comma', '{"a": 1,}'],
    ['single quotes', "{'a': 1}"],
    ['an empty string', ''],
    ['plain text', 'Paris'],
    ['truncated JSON', '{"a": [1, 2'],
  ])('fails %s with the parser message', (_name, outputs) => {
    const result = scoreHeuristic(jsonValid(), { outputs, expected: null });
    expect(result.value).toBe(0);
    expect(result.reasoning).toMatch(/^output is not valid JSON: \S/);
  });

  it('points at a Markdown code fence', () => {
    const result = scoreHeuristic(jsonValid(), { outputs: '```json\n{"a":1}\n```', expected: null });
    expect(result).toEqual({ value: 0, reasoning: expect.stringMatching(/^output is not valid JSON \(it is wrapped in a Markdown code fence\): /) });
  });

  it('keeps the reasoning short for a huge invalid string', () => {
    const result = scoreHeuristic(jsonValid(), { outputs: `{"a": "${'x'.repeat(100_000)}`, expected: null });
    expect(result.value).toBe(0);
    expect(result.reasoning.length).toBeLessThan(200);
  });
});
