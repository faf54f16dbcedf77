export * from './random';
export * from './distributions';
export * from './mcnemar';
export * from './bootstrap';
export * from './align';
export * from './compare';
