import { assertValidEventData, DomainEvent } from '@assay/contracts';
import { executionStreamId } from '@assay/domain';
import { PostgresEventStore, VersionConflictError } from '@assay/event-store';

/** One execution's outcome: its RecordAdded or ExecutionFailed, as the first event of `execution-<recordId>`. */
export interface ExecutionOutcome {
  readonly recordId: string;
  readonly eventId: string;
  readonly event: DomainEvent<'RecordAdded'> | DomainEvent<'ExecutionFailed'>;
}

/** 'written': this call stored it; 'existed': the execution already had its outcome (a redelivery, or another worker). */
export type WriteResult = 'written' | 'existed';

interface Pending {
  readonly outcome: ExecutionOutcome;
  readonly resolve: (result: WriteResult) => void;
  readonly reject: (error: unknown) => void;
}

const MAX_CONFLICT_ROUNDS = 5;

/**
 * Stores outcomes as they come, many per transaction: every outcome is the first event of its
 * own stream (expectedVersion no_stream), so concurrent workers never wait on one stream version
 * (design note 5), and an execution recorded already is refused by the store (stream position and
 * event id both unique) instead of being recorded twice. A refused append is re-tried without the
 * outcomes whose streams exist.
 *
 * Outcomes queue for at most `lingerMs` (or until `maxBatch` wait), then go in one append.
 */
export class OutcomeWriter {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly flushing = new Set<Promise<void>>();

  constructor(
    private readonly store: PostgresEventStore,
    private readonly options: { maxBatch?: number; lingerMs?: number } = {},
  ) {}

  write(outcome: ExecutionOutcome): Promise<WriteResult> {
    assertValidEventData(outcome.event.type, outcome.event.data);
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ outcome, resolve, reject });
      if (this.queue.length >= (this.options.maxBatch ?? 100)) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.options.lingerMs ?? 10);
    });
  }

  /** Waits for everything queued so far to be stored. */
  async drain(): Promise<void> {
    this.flushNow();
    await Promise.allSettled([...this.flushing]);
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const flushing = this.store$(batch).finally(() => this.flushing.delete(flushing));
    this.flushing.add(flushing);
  }

  private async store$(batch: Pending[]): Promise<void> {
    let remaining = dedupe(batch);
    for (let round = 1; remaining.length > 0; round++) {
      try {
        await this.store.append(
          remaining.map(({ outcome }) => ({
            streamId: executionStreamId(outcome.recordId),
            expectedVersion: 'no_stream' as const,
            events: [{ type: outcome.event.type, data: outcome.event.data, eventId: outcome.eventId }],
          })),
        );
        for (const pending of remaining) pending.resolve('written');
        return;
      } catch (error) {
        if (!(error instanceof VersionConflictError) || round >= MAX_CONFLICT_ROUNDS) {
          for (const pending of remaining) pending.reject(error);
          return;
        }
        // Some of these executions have their outcome already: leave them out and store the rest.
        try {
          const streams = await this.store.readStreams(remaining.map(({ outcome }) => executionStreamId(outcome.recordId)));
          const next: Pending[] = [];
          for (const pending of remaining) {
            if ((streams.get(executionStreamId(pending.outcome.recordId)) ?? []).length > 0) pending.resolve('existed');
            else next.push(pending);
          }
          remaining = next;
        } catch (readError) {
          for (const pending of remaining) pending.reject(readError);
          return;
        }
      }
    }
  }
}

/** The same record twice in one batch (two deliveries in one process): one append, both told the result. */
function dedupe(batch: Pending[]): Pending[] {
  const byRecord = new Map<string, Pending[]>();
  for (const pending of batch) {
    const list = byRecord.get(pending.outcome.recordId) ?? [];
    list.push(pending);
    byRecord.set(pending.outcome.recordId, list);
  }
  const unique: Pending[] = [];
  for (const [, list] of byRecord) {
    const [first, ...rest] = list;
    if (rest.length === 0) {
      unique.push(first);
      continue;
    }
    unique.push({
      outcome: first.outcome,
      resolve: (result) => {
        first.resolve(result);
        for (const other of rest) other.resolve('existed');
      },
      reject: (error) => {
        first.reject(error);
        for (const other of rest) other.reject(error);
      },
    });
  }
  return unique;
}
