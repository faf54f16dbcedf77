export * from './errors/assay-error';
export * from './events/consumed-event-types';
export * from './events/event-types';
export * from './events/event-validation';
export * from './metrics/metric-definition';
export * from './json/json-value-problem';
export * from './limits';
export * from './paging/cursor';
