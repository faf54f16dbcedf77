export * from './openai-stub';
