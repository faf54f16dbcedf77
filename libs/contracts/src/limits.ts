/** Limits users run into; the API reports them with stable codes. */
export const MAX_RECORDS_PER_CALL = 1000;
/** Largest GraphQL request body the gateway accepts. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/**
 * Deepest nesting of objects and arrays in a JSON argument (records' inputs, outputs and expected,
 * metric params…); the value itself is level 1. Generous for real data (conversations, tool calls,
 * documents and JSON Schemas seldom nest past 20 levels) and far below the depth at which code
 * that walks a value recursively runs out of stack (a few thousand levels: storing a record,
 * scoring it), so a deeper value is refused up front with INVALID_JSON instead of failing later
 * with INTERNAL, or failing every score of the run.
 */
export const MAX_JSON_DEPTH = 100;
/** Most testcases one addTestcases call takes (an import goes in batches of this size). */
export const MAX_TESTCASES_PER_CALL = 1000;
/** Largest file POST /testsets/{id}/import accepts (ASSAY_MAX_IMPORT_BYTES overrides in the gateway). */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;
/** Largest single row (CSV record, JSON line or array element) of an import. */
export const MAX_IMPORT_ROW_BYTES = 4 * 1024 * 1024;
/**
 * Largest record (its inputs, outputs and expected as JSON) by default. A record travels to the
 * scoring workers as one NATS message, and NATS refuses messages over its max_payload (1 MiB by
 * default); raise both together (ASSAY_MAX_RECORD_BYTES and the server's max_payload).
 */
export const DEFAULT_MAX_RECORD_BYTES = 900 * 1024;
