import { AssayError } from '@assay/contracts';
import type { NewRecord } from '@assay/domain';

/** Refuses the whole call when one record is larger than the bus can carry: nothing is added. */
export function assertRecordSizes(records: readonly NewRecord[], maxBytes: number): void {
  records.forEach((record, index) => {
    const bytes = Buffer.byteLength(JSON.stringify(record));
    if (bytes > maxBytes) {
      throw new AssayError(
        'RECORD_TOO_LARGE',
        `Record ${index} (testcase ${record.testcaseId ?? 'none'}) is ${bytes} bytes; a record may hold at most ${maxBytes}. Shrink it, or raise ASSAY_MAX_RECORD_BYTES together with the NATS server's max_payload.`,
        { index, bytes, maxBytes },
      );
    }
  });
}
