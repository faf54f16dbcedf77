import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { AssayError } from '@assay/contracts';

/**
 * JSON Schema (draft 2020-12) for testsets, through ajv: `allErrors` so a testcase reports every
 * problem at once, formats (date, email, uri…) from ajv-formats. `strict: false` accepts schemas
 * with keywords ajv does not know (titles, examples, vendor extensions) as the spec allows.
 */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

const ajv = newAjv();

export interface ValidationErrorEntry {
  readonly path: string;
  readonly message: string;
}

/** Compiles a schema, or throws JSON_SCHEMA_INVALID listing what is wrong with it. */
export function compileJsonSchema(schema: unknown): ValidateFunction {
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    throw new AssayError('JSON_SCHEMA_INVALID', 'jsonSchema must be a JSON Schema: an object (or true / false).', {
      errors: [{ path: '', message: 'must be object or boolean' }],
    });
  }
  const errors: ValidationErrorEntry[] = [];
  if (!ajv.validateSchema(schema as object)) errors.push(...toEntries(ajv.errors));
  if (errors.length) {
    throw new AssayError('JSON_SCHEMA_INVALID', `jsonSchema is not a valid JSON Schema (draft 2020-12): ${summarize(errors)}`, { errors });
  }
  try {
    // A fresh instance per compile: schemas with the same $id in two testsets must not collide.
    return newAjv().compile(schema as object);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new AssayError('JSON_SCHEMA_INVALID', `jsonSchema does not compile: ${message}`, { errors: [{ path: '', message }] });
  }
}

/** Checks data against a compiled schema; [] when valid. Paths are JSON Pointers ("/answer/0"). */
export function validateWith(validate: ValidateFunction, data: unknown): ValidationErrorEntry[] {
  return validate(data) ? [] : toEntries(validate.errors);
}

function toEntries(errors: readonly ErrorObject[] | null | undefined): ValidationErrorEntry[] {
  return (errors ?? []).map((e) => {
    const path = e.keyword === 'required' ? `${e.instancePath}/${String(e.params.missingProperty)}` : e.instancePath;
    return { path: path || '', message: e.message ?? e.keyword };
  });
}

function summarize(errors: readonly ValidationErrorEntry[]): string {
  return errors
    .slice(0, 5)
    .map((e) => `${e.path || '/'} ${e.message}`)
    .join('; ');
}

/**
 * The top-level fields a schema declares (its `properties`), or null when it declares none
 * (then any field may be mapped). Only the schema's own top level: fields from `$ref` or
 * `allOf` are not followed.
 */
export function declaredFields(schema: unknown): ReadonlySet<string> | null {
  if (typeof schema !== 'object' || schema === null) return null;
  const properties = (schema as { properties?: unknown }).properties;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return null;
  return new Set(Object.keys(properties));
}

/**
 * Whether a top-level field's values are JSON other than strings, by what the schema says of it:
 * a CSV cell of such a column is read as JSON text (`42`, `true`, `[1,2]`), any other cell as the
 * string it is. A field whose `type` is absent or includes "string" stays a string.
 */
export function isNonStringField(schema: unknown, field: string): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const property = (schema as { properties?: Record<string, unknown> }).properties?.[field];
  if (typeof property !== 'object' || property === null) return false;
  const type = (property as { type?: unknown }).type;
  const types = typeof type === 'string' ? [type] : Array.isArray(type) ? type : [];
  return types.length > 0 && !types.includes('string');
}
