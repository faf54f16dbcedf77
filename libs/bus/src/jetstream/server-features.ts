import type { NatsConnection } from '@nats-io/nats-core';

/** What the connected nats-server can do that the bus adapts to (checked on this machine with 2.9.10). */
export interface ServerFeatures {
  readonly version: string;
  /** `filter_subjects` (several filters on one consumer): 2.10+. Otherwise the consumer filters client-side. */
  readonly multipleFilterSubjects: boolean;
  /** `+TERM <reason>`: 2.11+. Older servers ignore the whole ack when a reason is attached (seen on 2.9.10). */
  readonly termReason: boolean;
}

export function serverFeatures(nc: NatsConnection): ServerFeatures {
  const version = nc.info?.version ?? '0.0.0';
  return {
    version,
    multipleFilterSubjects: atLeast(version, [2, 10, 0]),
    termReason: atLeast(version, [2, 11, 0]),
  };
}

export function atLeast(version: string, min: readonly [number, number, number]): boolean {
  const parts = version.split(/[.-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    if (parts[i] !== min[i]) return parts[i] > min[i];
  }
  return true;
}
