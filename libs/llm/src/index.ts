export * from './config/providers';
export * from './client/llm-client';
export { classifyFailure, parseRetryAfter, MAX_RETRY_AFTER_MS } from './client/llm-errors';
export type { AttemptFailure } from './client/llm-errors';
export * from './governor/rate-governor';
export * from './governor/llm-migrations';
export * from './judge/judge';
export * from './judge/judge-cache';
