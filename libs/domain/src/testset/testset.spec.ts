import { TestsetCreated } from '@assay/contracts';
import { deciderSpec } from '@assay/testing';
import { canonicalJson } from './canonical-json';
import { compileJsonSchema, validateWith } from './json-schema';
import { mapTestcase, testsetDecider } from './testset';
import { testcaseDecider } from './testcase';

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

describe('testcase decider', () => {
  const tc = deciderSpec(testcaseDecider);
  const content = { testsetId: 't1', testcaseId: 'c1', jsonData: { question: 'q' }, schemaRevision: 1, validationErrors: [] };
  const added = { type: 'TestcaseAdded' as const, data: content };

  it('adds a testcase, keeping its validation errors', () => {
    const errors = [{ path: '/answer', message: 'must be string' }];
    tc.given([]).when({ type: 'AddTestcase', ...content, validationErrors: errors }).then([{ type: 'TestcaseAdded', data: { ...content, validationErrors: errors } }]);
  });

  it('refuses data that is not an object', () => tc.given([]).when({ type: 'AddTestcase', ...content, jsonData: [1] }).thenThrows('BAD_USER_INPUT'));

  it('updates a testcase of the same testset; the same data again appends nothing', () => {
    tc.given([added]).when({ type: 'UpdateTestcase', ...content, jsonData: { question: 'new' } }).then([{ type: 'TestcaseUpdated', data: { ...content, jsonData: { question: 'new' } } }]);
    tc.given([added]).when({ type: 'UpdateTestcase', ...content }).then([]);
  });

  it('a testcase of another testset, or none, is not found', () => {
    tc.given([added]).when({ type: 'UpdateTestcase', ...content, testsetId: 't2' }).thenThrows('TESTCASE_NOT_FOUND');
    tc.given([]).when({ type: 'UpdateTestcase', ...content }).thenThrows('TESTCASE_NOT_FOUND');
  });
});
