import type { Sql } from '@assay/database';
import { asSafeNumber } from './stored-event-row';
import { LOG_START, LogPosition } from './types';

/**
 * Where each named reader of the global log stands. Saving it in the same transaction as the
 * reader's effects is what makes a projection exactly-once: both commit, or neither does.
 */

export async function loadCheckpoint(sql: Sql, name: string): Promise<LogPosition> {
  const [row] = await sql.query<{ transaction_id: string; global_position: number }>(
    `select transaction_id::text as transaction_id, global_position from assay_checkpoints where name = $1`,
    [name],
  );
  if (!row) return LOG_START;
  return { transactionId: row.transaction_id, globalPosition: asSafeNumber(row.global_position, 'global_position') };
}

export async function saveCheckpoint(sql: Sql, name: string, position: LogPosition): Promise<void> {
  await sql.query(
    `insert into assay_checkpoints (name, transaction_id, global_position) values ($1, $2::xid8, $3)
     on conflict (name) do update
       set transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = clock_timestamp()`,
    [name, position.transactionId, position.globalPosition],
  );
}
