import { jsonPath, jsonValueProblem, MAX_JSON_DEPTH } from '@assay/contracts';
import {
  getNamedType,
  GraphQLError,
  GraphQLScalarType,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  typeFromAST,
  type ASTNode,
  type ASTVisitor,
  type GraphQLInputType,
  type ObjectValueNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';

/**
 * `JSON` accepts any JSON value. Values from variables arrive already parsed from the JSON request
 * body, so they are JSON by construction; we still check them (the embedded process can execute
 * operations without a JSON round trip). Inline literals are converted from the GraphQL AST:
 * objects, lists, strings, numbers, booleans, null and variables are fine; enum literals and
 * numbers JSON cannot represent (e.g. 1e400) are rejected with code INVALID_JSON, and so are
 * values that nest objects and arrays more than MAX_JSON_DEPTH levels deep (from either source).
 * Strings are kept as strings: `"{\"a\":1}"` is the JSON string, not an object.
 * A literal's error points at the offending node (`locations`) and, when the JsonLiteralPlaces
 * validation rule ran first (the gateway adds it, for HTTP and WebSocket), names the argument.
 */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value: object, array, string, number, boolean or null.',
  serialize: (value) => value,
  parseValue: (value) => {
    assertJsonValue(value, '$');
    return value;
  },
  parseLiteral: (ast, variables) => {
    try {
      return literalToJson(ast, variables ?? undefined, '$', 1);
    } catch (error) {
      const place = literalPlaces.get(ast);
      if (!place || !(error instanceof GraphQLError)) throw error;
      throw new GraphQLError(`${place}; ${error.message}`, { nodes: error.nodes, extensions: error.extensions });
    }
  },
});

function invalidJson(message: string, node?: ASTNode): GraphQLError {
  return new GraphQLError(message, { nodes: node, extensions: { code: 'INVALID_JSON' } });
}

function tooDeep(path: string, node?: ASTNode): GraphQLError {
  return invalidJson(
    `JSON value at ${path} nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep, the limit: flatten it, or send the deeper part as a JSON string.`,
    node,
  );
}

/** Where a JSON literal of the document stands, as its error names it (`Argument "records" of addRecords got…`). */
const literalPlaces = new WeakMap<ValueNode, string>();

/**
 * Validation rule: notes where each JSON literal of the document stands, for its error message.
 * GraphQL checks literals (ValuesOfCorrectType, a specified rule, so before this one's) by handing
 * the scalar the literal alone; this rule enters the argument or variable definition first, which
 * encloses the literal, and walks its value along the argument's input type to the JSON values.
 * It reports nothing itself.
 */
export function JsonLiteralPlaces(context: ValidationContext): ASTVisitor {
  return {
    Argument(node) {
      const argument = context.getArgument();
      if (!argument) return;
      const directive = context.getDirective();
      const owner = directive ? `@${directive.name}` : context.getFieldDef()?.name;
      notePlaces(node.value, argument.type, node.name.value, (at) => `Argument "${node.name.value}"${owner ? ` of ${owner}` : ''} got an invalid value${at}`);
    },
    VariableDefinition(node) {
      const type = node.defaultValue && typeFromAST(context.getSchema(), node.type);
      if (!node.defaultValue || !type) return;
      const name = node.variable.name.value;
      notePlaces(node.defaultValue, type as GraphQLInputType, name, (at) => `Variable "$${name}" got an invalid default value${at}`);
    },
  };
}

function notePlaces(node: ValueNode, type: GraphQLInputType, root: string, place: (at: string) => string): void {
  const walk = (value: ValueNode, valueType: GraphQLInputType, path: string): void => {
    if (isNonNullType(valueType)) {
      walk(value, valueType.ofType, path);
    } else if (isListType(valueType)) {
      // A single value where a list is expected stands for a list of one.
      if (value.kind === Kind.LIST) value.values.forEach((item, i) => walk(item, valueType.ofType, `${path}[${i}]`));
      else walk(value, valueType.ofType, path);
    } else if (isInputObjectType(valueType)) {
      if (value.kind !== Kind.OBJECT) return;
      const fields = valueType.getFields();
      for (const field of value.fields) {
        const definition = fields[field.name.value];
        if (definition) walk(field.value, definition.type, `${path}.${field.name.value}`);
      }
    } else if (getNamedType(valueType).name === JSONScalar.name) {
      literalPlaces.set(value, place(path === root ? '' : ` at "${path}"`));
    }
  };
  walk(node, type, root);
}

/** `level`: how many objects and arrays enclose `ast`, plus one (the value itself is level 1). Recursion stops at MAX_JSON_DEPTH. */
function literalToJson(ast: ValueNode, variables: Record<string, unknown> | undefined, path: string, level: number): unknown {
  switch (ast.kind) {
    case Kind.STRING:
      return ast.value;
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT: {
      const n = Number(ast.value);
      if (!Number.isFinite(n)) throw invalidJson(`JSON value at ${path} is not a finite number: ${ast.value}.`, ast);
      return n;
    }
    case Kind.NULL:
      return null;
    case Kind.LIST:
      if (level > MAX_JSON_DEPTH) throw tooDeep(path, ast);
      return ast.values.map((v, i) => literalToJson(v, variables, `${path}[${i}]`, level + 1));
    case Kind.OBJECT:
      if (level > MAX_JSON_DEPTH) throw tooDeep(path, ast);
      return objectLiteral(ast, variables, path, level);
    case Kind.VARIABLE: {
      const value = variables?.[ast.name.value];
      // An unset variable inside a literal behaves like an absent field. A set one is checked as
      // the value it is, like any variable (its own depth, not counted from where it stands): this
      // runs at execution (validation has no variables), where graphql-js would turn an error into
      // a generic failure. The literal around it is bounded anyway.
      if (value !== undefined) assertJsonValue(value, path);
      return value;
    }
    case Kind.ENUM:
      throw invalidJson(`JSON value at ${path} is the bare word ${ast.value}: quote it to pass a string ("${ast.value}").`, ast);
    default:
      throw invalidJson(`JSON value at ${path} is not valid JSON.`, ast);
  }
}

function objectLiteral(ast: ObjectValueNode, variables: Record<string, unknown> | undefined, path: string, level: number): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const field of ast.fields) {
    const value = literalToJson(field.value, variables, `${path}.${field.name.value}`, level + 1);
    if (value !== undefined) out[field.name.value] = value;
  }
  return { ...out };
}

/**
 * Throws INVALID_JSON unless `value` is something JSON.stringify would round-trip, nested at most
 * MAX_JSON_DEPTH levels (`rootLevel`: the level of `value` itself, deeper inside a literal).
 */
export function assertJsonValue(value: unknown, rootPath: string, rootLevel = 1): void {
  const problem = jsonValueProblem(value, rootLevel);
  if (!problem) return;
  const path = jsonPath(rootPath, problem.keys);
  switch (problem.kind) {
    case 'TOO_DEEP':
      throw tooDeep(path);
    case 'NOT_FINITE':
      throw invalidJson(`JSON value at ${path} is not a finite number.`);
    case 'NOT_PLAIN_OBJECT':
      throw invalidJson(`JSON value at ${path} is not a plain object.`);
    default:
      throw invalidJson(`JSON value at ${path} has type ${problem.type}, which JSON cannot represent.`);
  }
}

/** `DateTime`: serialised as an ISO-8601 UTC string; accepts ISO-8601 strings as input. */
export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An instant, as an ISO-8601 string in UTC.',
  serialize: (value) => {
    const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date.');
    return date.toISOString();
  },
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO-8601 string.', { extensions: { code: 'BAD_USER_INPUT' } });
    return parseDate(ast.value);
  },
});

function parseDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an ISO-8601 string such as 2025-01-31T12:00:00Z.', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return date;
}
