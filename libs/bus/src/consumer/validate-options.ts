import { AssayError } from '@assay/contracts';
import type { ConsumerOptions } from '../types';

/** A durable name or an event type must be one NATS token: no dots, wildcards or whitespace. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Rejects options that would silently misbehave (a zero maxInFlight never delivers anything). */
export function validateConsumerOptions(options: ConsumerOptions): void {
  const problem = findProblem(options);
  if (problem) {
    throw new AssayError('INTERNAL', `Consumer "${options.name}" is misconfigured: ${problem}`, { consumer: options.name });
  }
}

function findProblem(o: ConsumerOptions): string | undefined {
  if (!TOKEN.test(o.name)) return 'name must be letters, digits, "-" or "_" (it is a JetStream durable name)';
  if (o.eventTypes.length === 0) return 'eventTypes is empty';
  const badType = o.eventTypes.find((t) => !TOKEN.test(t));
  if (badType !== undefined) return `event type "${badType}" is not a single subject token`;
  if (!isPositiveInt(o.maxInFlight)) return 'maxInFlight must be a positive integer';
  if (!isPositiveInt(o.maxBatch)) return 'maxBatch must be a positive integer';
  if (!isPositiveInt(o.ackWaitMs)) return 'ackWaitMs must be a positive integer';
  if (!isPositiveInt(o.maxDeliver)) return 'maxDeliver must be a positive integer';
  if (o.backoffMs.some((d) => !Number.isInteger(d) || d < 0)) return 'backoffMs entries must be integers >= 0';
  return undefined;
}

const isPositiveInt = (n: number) => Number.isInteger(n) && n > 0;

export function isSubjectToken(value: string): boolean {
  return TOKEN.test(value);
}
