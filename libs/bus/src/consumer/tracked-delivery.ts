import type { StoredEvent } from '@assay/event-store';
import type { Delivery } from '../types';
import { backoffDelay } from './backoff';

/** How one implementation settles a delivery (a JetStream message, an in-memory log slot). */
export interface SettleTransport {
  ack(): void;
  /** `delayMs` is already resolved: 0 means redeliver now. */
  nak(delayMs: number): void;
  term(reason: string): void;
  working(): void;
}

export type Settlement = 'ack' | 'nak' | 'term';

/**
 * A Delivery that settles once. The first of ack, nak or term wins; later calls are ignored (a
 * handler that acks and then throws must not nak what it already acked). `onSettled` runs exactly
 * once, which is what frees the in-flight slot.
 */
export class TrackedDelivery implements Delivery {
  private state: Settlement | undefined;

  constructor(
    readonly event: StoredEvent,
    readonly deliveryCount: number,
    readonly maxDeliver: number,
    private readonly transport: SettleTransport,
    private readonly backoffMs: readonly number[],
    private readonly onSettled: (delivery: TrackedDelivery, how: Settlement) => void,
  ) {}

  get settlement(): Settlement | undefined {
    return this.state;
  }

  ack(): void {
    if (this.settle('ack')) this.transport.ack();
  }

  nak(delayMs?: number): void {
    if (this.settle('nak')) this.transport.nak(Math.max(0, delayMs ?? backoffDelay(this.backoffMs, this.deliveryCount)));
  }

  term(reason: string): void {
    if (this.settle('term')) this.transport.term(reason);
  }

  working(): void {
    if (this.state === undefined) this.transport.working();
  }

  private settle(how: Settlement): boolean {
    if (this.state !== undefined) return false;
    this.state = how;
    this.onSettled(this, how);
    return true;
  }
}
