/** Limits users run into; the API reports them with stable codes. */
export const MAX_RECORDS_PER_CALL = 1000;
/** Largest GraphQL request body the gateway accepts. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
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
