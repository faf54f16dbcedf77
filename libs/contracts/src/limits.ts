/** Limits users run into; the API reports them with stable codes. */
export const MAX_RECORDS_PER_CALL = 1000;
/** Largest GraphQL request body the gateway accepts. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
