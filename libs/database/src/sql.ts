/**
 * The one way Assay code talks SQL: PostgreSQL text with `$1, $2…` placeholders, rows back.
 * Implemented by `Database` (autocommit, one pooled connection per call) and by the transaction
 * handle `Database.transaction` passes to its callback (every call on the same connection).
 */
export interface Sql {
  query<R = any>(text: string, params?: readonly unknown[]): Promise<R[]>;
}
