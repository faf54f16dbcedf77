import { createHash } from 'node:crypto';

/**
 * Keys for PostgreSQL's two-int advisory lock functions (`pg_advisory_lock(int4, int4)`).
 * The first number names what kind of thing is locked, the second which one: a hash of its name,
 * computed here rather than with `hashtext()`, whose output PostgreSQL does not promise to keep
 * stable across versions. A collision between two names only makes them wait for each other.
 */
export interface AdvisoryLockKey {
  readonly namespace: number;
  readonly id: number;
}

/** Namespaces in use, so two libraries never lock each other by accident. */
export const AdvisoryLockNamespace = {
  migrations: 0x41535901,
  logProcessor: 0x41535902,
} as const;

export function advisoryLockKey(namespace: number, name: string): AdvisoryLockKey {
  const digest = createHash('sha256').update(name).digest();
  return { namespace, id: digest.readInt32BE(0) };
}
