import { AssayError, TestsetCreated, TestsetUpdated } from '@assay/contracts';
import type { Decider } from '../decider/decider';
import { canonicalJson } from './canonical-json';
import { compileJsonSchema, declaredFields } from './json-schema';

export const testsetStreamId = (testsetId: string) => `testset-${testsetId}`;

export interface FieldMapping {
  readonly inputs: readonly string[];
  readonly expected: readonly string[];
  readonly metadata: readonly string[];
}

export const EMPTY_MAPPING: FieldMapping = { inputs: [], expected: [], metadata: [] };

export interface CreateTestset {
  readonly type: 'CreateTestset';
  readonly testsetId: string;
  readonly projectId: string;
  readonly name: string;
  readonly description?: string | null;
  /** Absent: `{}` (any object). */
  readonly jsonSchema?: unknown;
  readonly fieldMapping?: Partial<FieldMapping> | null;
}

/** Absent (undefined or null) fields keep their value. */
export interface UpdateTestset {
  readonly type: 'UpdateTestset';
  readonly testsetId: string;
  readonly name?: string | null;
  readonly description?: string | null;
  readonly jsonSchema?: unknown;
  readonly fieldMapping?: Partial<FieldMapping> | null;
}

export type TestsetCommand = CreateTestset | UpdateTestset;
export type TestsetEvent = TestsetCreated | TestsetUpdated;

export interface TestsetDefinition {
  readonly testsetId: string;
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly jsonSchema: unknown;
  readonly fieldMapping: FieldMapping;
  readonly schemaRevision: number;
}

export type TestsetState = { readonly exists: false } | ({ readonly exists: true } & TestsetDefinition);

const MAX_NAME = 200;
const MAX_DESCRIPTION = 10_000;
/** Largest jsonSchema, as JSON (UTF-8 bytes): the definition event stays well under the bus's 1 MiB message limit. */
export const MAX_JSON_SCHEMA_BYTES = 256 * 1024;

function checkSchema(jsonSchema: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(jsonSchema) ?? '');
  if (bytes > MAX_JSON_SCHEMA_BYTES) {
    throw new AssayError('JSON_SCHEMA_INVALID', `jsonSchema is ${bytes} bytes as JSON; the limit is ${MAX_JSON_SCHEMA_BYTES}.`, { errors: [{ path: '', message: 'too large' }] });
  }
  compileJsonSchema(jsonSchema);
}

function checkName(name: string | null | undefined): string {
  const trimmed = (name ?? '').trim();
  if (!trimmed) throw new AssayError('BAD_USER_INPUT', 'A testset needs a name.');
  if (trimmed.length > MAX_NAME) throw new AssayError('BAD_USER_INPUT', `A testset name is limited to ${MAX_NAME} characters.`);
  return trimmed;
}

function checkDescription(description: string | null | undefined): string {
  const text = description ?? '';
  if (text.length > MAX_DESCRIPTION) throw new AssayError('BAD_USER_INPUT', `A description is limited to ${MAX_DESCRIPTION} characters.`);
  return text;
}

/**
 * Checks a field mapping against the schema: every entry a non-empty field name, no field in two
 * places, and, when the schema declares `properties`, only declared fields. Fields not mapped
 * count as metadata (see mapTestcase), so an empty mapping is valid.
 */
export function checkFieldMapping(mapping: Partial<FieldMapping> | null | undefined, jsonSchema: unknown): FieldMapping {
  const result: FieldMapping = { inputs: [...(mapping?.inputs ?? [])], expected: [...(mapping?.expected ?? [])], metadata: [...(mapping?.metadata ?? [])] };
  const declared = declaredFields(jsonSchema);
  const seen = new Map<string, string>();
  for (const role of ['inputs', 'expected', 'metadata'] as const) {
    for (const field of result[role]) {
      if (typeof field !== 'string' || field.length === 0) {
        throw new AssayError('FIELD_MAPPING_INVALID', `fieldMapping.${role} lists an empty field name.`);
      }
      const other = seen.get(field);
      if (other) {
        throw new AssayError('FIELD_MAPPING_INVALID', `Field "${field}" is mapped to both ${other} and ${role}: map each field once.`, { field });
      }
      seen.set(field, role);
      if (declared && !declared.has(field)) {
        throw new AssayError(
          'FIELD_MAPPING_INVALID',
          `fieldMapping.${role} names "${field}", which the jsonSchema does not declare in its properties (${[...declared].join(', ') || 'none'}).`,
          { field },
        );
      }
    }
  }
  return result;
}

/** A testcase's data split by the mapping: mapped fields where they belong, every other field in metadata. */
export function mapTestcase(jsonData: Readonly<Record<string, unknown>>, mapping: FieldMapping) {
  const inputs: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  const inputSet = new Set(mapping.inputs);
  const expectedSet = new Set(mapping.expected);
  for (const [field, value] of Object.entries(jsonData)) {
    if (inputSet.has(field)) inputs[field] = value;
    else if (expectedSet.has(field)) expected[field] = value;
    else metadata[field] = value;
  }
  return { inputs, expected, metadata };
}

export const testsetDecider: Decider<TestsetCommand, TestsetState, TestsetEvent> = {
  initialState: () => ({ exists: false }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateTestset': {
        if (state.exists) throw new AssayError('BAD_USER_INPUT', `Testset ${command.testsetId} already exists.`);
        const jsonSchema = command.jsonSchema === undefined || command.jsonSchema === null ? {} : command.jsonSchema;
        checkSchema(jsonSchema);
        return [
          {
            type: 'TestsetCreated',
            data: {
              testsetId: command.testsetId,
              projectId: command.projectId,
              name: checkName(command.name),
              description: checkDescription(command.description),
              jsonSchema,
              fieldMapping: checkFieldMapping(command.fieldMapping, jsonSchema) as TestsetCreated['data']['fieldMapping'],
              schemaRevision: 1,
            },
          },
        ];
      }
      case 'UpdateTestset': {
        if (!state.exists) throw new AssayError('TESTSET_NOT_FOUND', `Testset ${command.testsetId} not found.`);
        const name = command.name === undefined || command.name === null ? state.name : checkName(command.name);
        const description = command.description === undefined || command.description === null ? state.description : checkDescription(command.description);
        const schemaGiven = command.jsonSchema !== undefined && command.jsonSchema !== null;
        const jsonSchema = schemaGiven ? command.jsonSchema : state.jsonSchema;
        const schemaChanged = schemaGiven && canonicalJson(jsonSchema) !== canonicalJson(state.jsonSchema);
        if (schemaChanged) checkSchema(jsonSchema);
        let fieldMapping: FieldMapping;
        let droppedMappings: string[] = [];
        if (command.fieldMapping) {
          fieldMapping = checkFieldMapping(command.fieldMapping, jsonSchema);
        } else if (schemaChanged) {
          // A new schema without a new mapping: mappings to fields the schema no longer declares go.
          const declared = declaredFields(jsonSchema);
          const keep = (field: string) => !declared || declared.has(field);
          const current = state.fieldMapping;
          droppedMappings = [...current.inputs, ...current.expected, ...current.metadata].filter((f) => !keep(f));
          fieldMapping = { inputs: current.inputs.filter(keep), expected: current.expected.filter(keep), metadata: current.metadata.filter(keep) };
        } else {
          fieldMapping = state.fieldMapping;
        }
        const schemaRevision = state.schemaRevision + (schemaChanged ? 1 : 0);
        const unchanged =
          name === state.name &&
          description === state.description &&
          !schemaChanged &&
          canonicalJson(fieldMapping) === canonicalJson(state.fieldMapping);
        if (unchanged) return [];
        return [
          {
            type: 'TestsetUpdated',
            data: {
              testsetId: command.testsetId,
              name,
              description,
              jsonSchema,
              fieldMapping: fieldMapping as TestsetUpdated['data']['fieldMapping'],
              schemaRevision,
              droppedMappings,
            },
          },
        ];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'TestsetCreated':
        return { exists: true, ...event.data };
      case 'TestsetUpdated':
        if (!state.exists) return state;
        return {
          ...state,
          name: event.data.name,
          description: event.data.description,
          jsonSchema: event.data.jsonSchema,
          fieldMapping: event.data.fieldMapping,
          schemaRevision: event.data.schemaRevision,
        };
    }
  },
};
