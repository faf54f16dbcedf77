export * from './types';
export type { BusLogger } from './util/logger';
export { defaultBusLogger } from './util/logger';
export { backoffDelay } from './consumer/backoff';
export { topicMatches } from './broadcast/topic';
export { JetStreamBus, type JetStreamBusOptions } from './jetstream/jetstream-bus';
export type { JetStreamConsumerOptions } from './jetstream/consumer-setup';
export type { PublishResult } from './jetstream/publisher';
export type { StreamSettings } from './jetstream/stream-setup';
