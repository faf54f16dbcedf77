/**
 * Stable error codes. Clients match on these (GraphQL `extensions.code`), so a code never changes
 * meaning; messages may be reworded.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'RUN_NOT_FOUND'
  /** No record has this id (or it is of another project). */
  | 'RECORD_NOT_FOUND'
  | 'METRIC_NOT_FOUND'
  | 'PROJECT_NOT_FOUND'
  | 'API_KEY_NOT_FOUND'
  | 'TOO_MANY_RECORDS'
  | 'RECORD_TOO_LARGE'
  | 'PAYLOAD_TOO_LARGE'
  /** addRecords with an idempotency key that an earlier call used for other records (details: idempotencyKey, index). */
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'INVALID_JSON'
  | 'METRIC_CONFIG_INVALID'
  /** A Jinja template that does not parse, or uses what templates may not (details: line, column). */
  | 'TEMPLATE_INVALID'
  /** A CODE metric's JavaScript that does not compile or defines no `score` function (details: line, column). */
  | 'CODE_INVALID'
  | 'TESTSET_NOT_FOUND'
  | 'TESTCASE_NOT_FOUND'
  | 'TOO_MANY_TESTCASES'
  | 'JSON_SCHEMA_INVALID'
  | 'FIELD_MAPPING_INVALID'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'SYSTEM_NOT_FOUND'
  | 'SYSTEM_VERSION_NOT_FOUND'
  | 'SYSTEM_NAME_TAKEN'
  | 'SYSTEM_VERSION_NAME_TAKEN'
  | 'SYSTEM_CONFIG_INVALID'
  | 'VERSION_CONFLICT'
  | 'EVENT_TYPE_UNKNOWN'
  | 'EVENT_VERSION_UNSUPPORTED'
  | 'EVENT_PAYLOAD_INVALID'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'UNAVAILABLE'
  // LLM calls (libs/llm): what a person does next is in the message.
  | 'LLM_CONFIG_INVALID'
  | 'LLM_RATE_LIMITED'
  | 'LLM_UNAVAILABLE'
  | 'LLM_TIMEOUT'
  | 'LLM_BAD_REQUEST'
  | 'JUDGE_OUTPUT_INVALID'
  | 'INTERNAL';

/** An error a user can act on: a stable code plus a message that says what to do next. */
export class AssayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AssayError';
  }
}

export function isAssayError(error: unknown): error is AssayError {
  return error instanceof AssayError;
}
