import { types as pgTypes, TypeOverrides } from 'pg';

/**
 * Result parsing for every query Assay runs, passed per query so it does not depend on what
 * MikroORM configured on its pool (MikroORM leaves timestamps as strings; we want `Date`s).
 *
 * - int8 (bigint, count(*)): a JS number when it fits exactly, else the decimal string. Global
 *   positions and counts stay far below 2^53; a silent rounding would be worse than a string.
 * - xid8 (transaction ids) has no parser in pg, so it arrives as its decimal string: it is 64-bit
 *   and only ever compared in SQL, never as a JS number.
 * - everything else: pg's defaults (timestamptz → Date, json/jsonb → parsed value).
 */
export const queryTypes = new TypeOverrides(pgTypes);

const INT8_OID = 20;

queryTypes.setTypeParser(INT8_OID, (text: string) => {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
});
