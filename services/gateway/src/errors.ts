import { randomUUID } from 'node:crypto';
import { isAssayError, MAX_JSON_DEPTH, type AssayError, type ErrorCode } from '@assay/contracts';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { GatewayLogger } from './logger';

/**
 * One place that decides what a client sees for an error, for HTTP and WebSocket alike:
 * - AssayError (anywhere in the cause chain): its stable code and its message, which already says
 *   what to do next; plus its details.
 * - Errors raised by GraphQL itself (parse, validation, variable coercion…): Apollo's standard codes
 *   kept as they are (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT…), except that
 *   a JSON scalar rejection is reported as INVALID_JSON wherever GraphQL caught it, and a query
 *   text too deeply nested for the parser is a GRAPHQL_PARSE_FAILED that says so.
 * - Anything else is a bug or an outage: code INTERNAL, a generic message and an errorId; the
 *   original error (with stack) is logged under that errorId and never sent.
 */

const INTERNAL_MESSAGE = 'The server failed to process this request. Retry later; if it keeps failing, report the errorId to your Assay operator.';

const TOO_DEEP_TO_PARSE_MESSAGE =
  `The query text is nested too deeply to parse. A JSON value may nest objects and arrays at most ${MAX_JSON_DEPTH} levels: ` +
  'flatten it, and send large values as variables rather than inline.';

type Classified =
  | { kind: 'assay'; error: AssayError }
  | { kind: 'invalid-json'; message: string }
  | { kind: 'too-deep-to-parse' }
  | { kind: 'graphql' }
  | { kind: 'internal'; cause: unknown };

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    chain.push(current);
    current = current instanceof GraphQLError ? current.originalError : undefined;
  }
  return chain;
}

export function classifyError(error: unknown): Classified {
  const chain = causeChain(error);
  const assay = chain.find(isAssayError);
  if (assay) return { kind: 'assay', error: assay };
  if (chain.some((e) => e instanceof GraphQLError && e.extensions?.code === 'INVALID_JSON')) {
    return { kind: 'invalid-json', message: error instanceof Error ? error.message : 'The value is not valid JSON.' };
  }
  const root = chain[chain.length - 1];
  // graphql-js parses recursively: a query text nested thousands of levels deep (a huge inline
  // JSON literal) overflows the stack in parse, which Apollo reports as a parse failure.
  if (root instanceof RangeError && /call stack/i.test(root.message) && chain.some((e) => e instanceof GraphQLError && e.extensions?.code === 'GRAPHQL_PARSE_FAILED')) {
    return { kind: 'too-deep-to-parse' };
  }
  if (!(root instanceof GraphQLError)) return { kind: 'internal', cause: root };
  // Raised by graphql-js or Apollo. Parse, validation and coercion errors are the client's; an
  // execution error (it has a path) without a code of its own reports a server bug, e.g. a
  // non-null field that resolved to null or an enum value the schema does not know.
  const code = chain.map((e) => (e instanceof GraphQLError ? e.extensions?.code : undefined)).find((c) => c !== undefined);
  const executionError = error instanceof GraphQLError && error.path !== undefined;
  if (code === 'INTERNAL_SERVER_ERROR' || (code === undefined && executionError)) return { kind: 'internal', cause: root };
  return { kind: 'graphql' };
}

/** Internal errors already logged, with the id the client will see. */
const errorIds = new WeakMap<object, string>();

function errorIdOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? errorIds.get(error) : undefined;
}

/**
 * Logs the errors of one failed operation as a single JSON line. Internal errors get an errorId
 * (remembered for `formatClientError`) and their stack; user errors only their code and path.
 */
export function logOperationErrors(
  logger: GatewayLogger,
  errors: readonly unknown[],
  context: { transport: 'http' | 'ws'; operationName?: string | null },
): void {
  let internal = false;
  const summary = errors.map((error) => {
    const classified = classifyError(error);
    const path = error instanceof GraphQLError ? error.path?.join('.') : undefined;
    if (classified.kind === 'internal') {
      internal = true;
      const errorId = errorIdOf(error) ?? randomUUID();
      if (typeof error === 'object' && error !== null) errorIds.set(error, errorId);
      const cause = classified.cause;
      return {
        code: 'INTERNAL',
        errorId,
        path,
        error: cause instanceof Error ? { name: cause.name, message: cause.message, stack: cause.stack } : String(cause),
      };
    }
    return {
      code: clientCode(classified, error),
      message: error instanceof Error ? error.message : String(error),
      path,
    };
  });
  const line = { transport: context.transport, operationName: context.operationName ?? undefined, errors: summary };
  if (internal) logger.error(line, 'graphql operation failed');
  else logger.info(line, 'graphql operation rejected');
}

function clientCode(classified: Classified, error: unknown): string {
  switch (classified.kind) {
    case 'assay':
      return classified.error.code;
    case 'invalid-json':
      return 'INVALID_JSON';
    case 'too-deep-to-parse':
      return 'GRAPHQL_PARSE_FAILED';
    case 'internal':
      return 'INTERNAL';
    case 'graphql': {
      const code = error instanceof GraphQLError ? error.extensions?.code : undefined;
      return typeof code === 'string' ? code : 'INTERNAL';
    }
  }
}

/** Apollo `formatError` (and the WebSocket equivalent): the error as the client sees it. */
export function formatClientError(formatted: GraphQLFormattedError, error: unknown, logger: GatewayLogger): GraphQLFormattedError {
  const classified = classifyError(error);
  const base = { locations: formatted.locations, path: formatted.path };
  switch (classified.kind) {
    case 'assay': {
      const { code, message, details } = classified.error;
      const hasDetails = details && Object.keys(details).length > 0;
      return { ...base, message, extensions: hasDetails ? { code, details } : { code } };
    }
    case 'invalid-json':
      return { ...base, message: formatted.message, extensions: { code: 'INVALID_JSON' satisfies ErrorCode } };
    case 'too-deep-to-parse':
      return { ...base, message: TOO_DEEP_TO_PARSE_MESSAGE, extensions: { code: 'GRAPHQL_PARSE_FAILED' } };
    case 'graphql': {
      // Keep Apollo's standard code; drop anything else (stack traces, http hints).
      const code = formatted.extensions?.code;
      return { ...base, message: formatted.message, extensions: { code } };
    }
    case 'internal': {
      let errorId = errorIdOf(error);
      if (!errorId) {
        // Not seen by logOperationErrors (should not happen): log it here rather than lose it.
        errorId = randomUUID();
        const cause = classified.cause;
        logger.error(
          { errorId, error: cause instanceof Error ? { name: cause.name, message: cause.message, stack: cause.stack } : String(cause) },
          'graphql operation failed',
        );
      }
      return { ...base, message: INTERNAL_MESSAGE, extensions: { code: 'INTERNAL' satisfies ErrorCode, errorId } };
    }
  }
}

/** The GraphQL-shaped body for errors raised outside GraphQL execution (HTTP layer, CSV export). */
export function errorBody(code: ErrorCode | string, message: string): { errors: GraphQLFormattedError[] } {
  return { errors: [{ message, extensions: { code } }] };
}

export { INTERNAL_MESSAGE };
