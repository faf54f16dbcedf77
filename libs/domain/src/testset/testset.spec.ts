import { TestsetCreated } from '@assay/contracts';
import { deciderSpec } from '@assay/testing';
import { canonicalJson } from './canonical-json';
import { compileJsonSchema, validateWith } from './json-schema';
import { mapTestcase, testsetDecider } from './testset';
import { decideTestcaseWrites } from './testcase';

const schema = {
  type: 'object',
  required: ['question'],
  properties: { question: { type: 'string' }, answer: { type: 'string' }, context: { type: 'string' }, difficulty: { type: 'integer' } },
};
const created: TestsetCreated = {
  type: 'TestsetCreated',
  data: {
    testsetId: 't1',
    projectId: 'p1',
    name: 'qa',
    description: '',
    jsonSchema: schema,
    fieldMapping: { inputs: ['question', 'context'], expected: ['answer'], metadata: [] },
    schemaRevision: 1,
  },
};
const spec = deciderSpec(testsetDecider);

describe('testset decider', () => {
  it('creates a testset with a checked schema and mapping', () =>
    spec
      .given([])
      .when({ type: 'CreateTestset', testsetId: 't1', projectId: 'p1', name: ' qa ', jsonSchema: schema, fieldMapping: { inputs: ['question', 'context'], expected: ['answer'] } })
      .then([created]));

  it('refuses an invalid JSON Schema with its errors', () => {
    let error: any;
    try {
      spec.given([]).when({ type: 'CreateTestset', testsetId: 't1', projectId: 'p1', name: 'qa', jsonSchema: { type: 'objekt', minProperties: -1 } }).result();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'JSON_SCHEMA_INVALID' });
    expect(error.details.errors.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a mapping to a field the schema does not declare, or a field mapped twice', () => {
    spec.given([]).when({ type: 'CreateTestset', testsetId: 't1', projectId: 'p1', name: 'qa', jsonSchema: schema, fieldMapping: { inputs: ['nope'] } }).thenThrows('FIELD_MAPPING_INVALID');
    spec
      .given([])
      .when({ type: 'CreateTestset', testsetId: 't1', projectId: 'p1', name: 'qa', jsonSchema: schema, fieldMapping: { inputs: ['answer'], expected: ['answer'] } })
      .thenThrows('FIELD_MAPPING_INVALID');
  });

  it('a schema change without a new mapping drops mappings to removed fields', () => {
    const newSchema = { type: 'object', properties: { question: { type: 'string' }, reference: { type: 'string' } } };
    spec.given([created]).when({ type: 'UpdateTestset', testsetId: 't1', jsonSchema: newSchema }).then([
      {
        type: 'TestsetUpdated',
        data: {
          testsetId: 't1',
          name: 'qa',
          description: '',
          jsonSchema: newSchema,
          fieldMapping: { inputs: ['question'], expected: [], metadata: [] },
          schemaRevision: 2,
          droppedMappings: ['context', 'answer'],
        },
      },
    ]);
  });

  it('a schema change with a new mapping takes that mapping; an unchanged update appends nothing', () => {
    const newSchema = { type: 'object', properties: { q: { type: 'string' }, a: { type: 'string' } } };
    const [event] = spec.given([created]).when({ type: 'UpdateTestset', testsetId: 't1', jsonSchema: newSchema, fieldMapping: { inputs: ['q'], expected: ['a'] } }).result();
    expect(event.data).toMatchObject({ fieldMapping: { inputs: ['q'], expected: ['a'], metadata: [] }, schemaRevision: 2, droppedMappings: [] });
    // The same schema with keys in another order is no change.
    const reordered = { properties: schema.properties, required: ['question'], type: 'object' };
    spec.given([created]).when({ type: 'UpdateTestset', testsetId: 't1', jsonSchema: reordered, name: 'qa' }).then([]);
  });

  it('refuses to update a testset that does not exist', () =>
    spec.given([]).when({ type: 'UpdateTestset', testsetId: 't1', name: 'x' }).thenThrows('TESTSET_NOT_FOUND'));

  it('maps fields: unmapped fields count as metadata', () => {
    expect(mapTestcase({ question: 'q', answer: 'a', source: 'wiki', context: 'c' }, created.data.fieldMapping)).toEqual({
      inputs: { question: 'q', context: 'c' },
      expected: { answer: 'a' },
      metadata: { source: 'wiki' },
    });
  });

  it('validates data with every error and its path', () => {
    const validate = compileJsonSchema(schema);
    expect(validateWith(validate, { question: 'q' })).toEqual([]);
    expect(validateWith(validate, { answer: 5, difficulty: 'hard' })).toEqual([
      { path: '/question', message: "must have required property 'question'" },
      { path: '/answer', message: 'must be string' },
      { path: '/difficulty', message: 'must be integer' },
    ]);
  });

  it('canonical JSON ignores key order', () => {
    expect(canonicalJson({ b: [1, { y: 1, x: 2 }], a: 'é' })).toBe(canonicalJson({ a: 'é', b: [1, { x: 2, y: 1 }] }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
  });
});

describe('testcase writes', () => {
  const base = { type: 'WriteTestcases' as const, testsetId: 't1', schemaRevision: 2, existing: new Map([['c1', '{"question":"q"}']]), allOrNothing: false };
  const row = (line: number, jsonData: unknown, id?: string) => ({ line, id, newId: `new${line}`, jsonData, validationErrors: [] });

  it('adds new rows, updates changed ones, skips unchanged ones and keeps validation errors', () => {
    const errors = [{ path: '/answer', message: 'must be string' }];
    const decision = decideTestcaseWrites({
      ...base,
      rows: [{ ...row(1, { question: 'a', answer: 1 }), validationErrors: errors }, row(2, { question: 'q' }, 'c1'), row(3, { question: 'new' }, 'c1')],
    });
    expect(decision.events).toEqual([
      { type: 'TestcasesAdded', data: { testsetId: 't1', testcases: [{ testcaseId: 'new1', jsonText: '{"question":"a","answer":1}', schemaRevision: 2, validationErrors: errors }] } },
      { type: 'TestcasesUpdated', data: { testsetId: 't1', testcases: [{ testcaseId: 'c1', jsonText: '{"question":"new"}', schemaRevision: 2, validationErrors: [] }] } },
    ]);
    expect(decision.outcomes.map((o) => [o.outcome, o.invalid])).toEqual([['created', true], ['unchanged', false], ['updated', false]]);
  });

  it('field order is part of a testcase (it round-trips through CSV and JSONL)', () => {
    const decision = decideTestcaseWrites({ ...base, existing: new Map([['c1', '{"a":1,"b":2}']]), rows: [row(1, { b: 2, a: 1 }, 'c1')] });
    expect(decision.outcomes[0].outcome).toBe('updated');
  });

  it('refuses an id that is not a testcase of this testset, and a row that is not an object, line by line', () => {
    const decision = decideTestcaseWrites({ ...base, rows: [row(4, { q: 1 }, 'c9'), row(5, [1]), row(6, { q: 2 })] });
    expect(decision.outcomes.map((o) => [o.line, o.outcome, o.refusal?.code])).toEqual([[4, 'refused', 'TESTCASE_NOT_FOUND'], [5, 'refused', 'BAD_USER_INPUT'], [6, 'created', undefined]]);
    expect(decision.events).toHaveLength(1);
  });

  it('all or nothing: one bad row refuses the call', () => {
    expect(() => decideTestcaseWrites({ ...base, allOrNothing: true, rows: [row(1, { q: 1 }), row(2, 'text')] })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it('packs events by count and size', () => {
    const big = 'x'.repeat(200 * 1024);
    const decision = decideTestcaseWrites({ ...base, rows: [...Array.from({ length: 1500 }, (_, i) => row(i, { i })), row(2000, { big }), row(2001, { big }), row(2002, { big })] });
    expect(decision.events.map((e) => e.data.testcases.length)).toEqual([1000, 502, 1]);
    expect(() => decideTestcaseWrites({ ...base, allOrNothing: true, rows: [row(1, { big: 'x'.repeat(600 * 1024) })] })).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    // Bytes, not characters: 200 Ki three-byte characters are 600 KiB.
    expect(() => decideTestcaseWrites({ ...base, allOrNothing: true, rows: [row(1, { big: '日'.repeat(200 * 1024) })] })).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
  });

  it('stores at most 100 validation errors per testcase, saying how many more there were', () => {
    const errors = Array.from({ length: 250 }, (_, i) => ({ path: `/f${i}`, message: 'must be string' }));
    const [event] = decideTestcaseWrites({ ...base, rows: [{ ...row(1, { q: 1 }), validationErrors: errors }] }).events;
    const stored = event.data.testcases[0].validationErrors;
    expect(stored).toHaveLength(100);
    expect(stored[99]).toEqual({ path: '', message: 'and 151 more errors' });
  });
});
