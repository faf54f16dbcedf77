import { randomBytes } from 'node:crypto';

/** The NATS server tests use: NATS_URL, else the local one. */
export const testNatsUrl = () => process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** A unique prefix for streams, consumers and subjects, so concurrent tests never share them. */
export const uniqueBusPrefix = (label = 'test') => `${label}_${randomBytes(4).toString('hex')}`;
