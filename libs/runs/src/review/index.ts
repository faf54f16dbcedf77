export * from './types';
export * from './human-review';
export * from './review-projector';
export * from './review-migrations';
