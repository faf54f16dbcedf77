export { HISTORY_TYPE_DEFS } from './schema';
export { HistoryResolver, MetricComparisonResolver } from './history.resolver';
