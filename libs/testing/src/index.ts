export * from './postgres/test-database';
export * from './nats/test-nats';
export * from './decider/decider-spec';
export * from './openai-stub';
