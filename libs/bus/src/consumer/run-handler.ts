import type { BatchHandler } from '../types';
import { errorFields, type BusLogger } from '../util/logger';
import type { TrackedDelivery } from './tracked-delivery';

/**
 * Runs one handler call and enforces the settlement rule both buses share: whatever the handler did
 * not settle — because it threw, or because it returned without deciding — is nak'ed with the
 * backoff delay for its attempt. So every delivery is settled when this resolves, and the
 * in-flight slot is free again. Never rejects.
 */
export async function runHandler(
  handler: BatchHandler,
  batch: readonly TrackedDelivery[],
  context: { consumer: string; logger: BusLogger },
): Promise<void> {
  let failed = false;
  try {
    await handler(batch);
  } catch (error) {
    failed = true;
    context.logger.warn(
      { consumer: context.consumer, batchSize: batch.length, eventIds: batch.slice(0, 10).map((d) => d.event.eventId), ...errorFields(error) },
      'handler failed: naking its unsettled deliveries',
    );
  }
  const unsettled = batch.filter((d) => d.settlement === undefined);
  if (unsettled.length > 0 && !failed) {
    context.logger.warn(
      { consumer: context.consumer, unsettled: unsettled.length },
      'handler returned without settling every delivery: naking the rest',
    );
  }
  for (const delivery of unsettled) delivery.nak();
}
