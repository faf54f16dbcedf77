export { ScoringModule, ScoringWorker, SCORING_OPTIONS, bootstrapScoring, createScoringLogger } from './scoring.module';
export type { ScoringModuleOptions } from './scoring.module';
export { rescoreConsumerOptions, scoringConsumerOptions, SCORING_CONSUMER_NAME, SCORING_DEFAULTS } from './scoring-config';
export type { ScoringConsumerOptions } from './scoring-config';
export { ExecutionModule, ExecutionWorker, bootstrapExecution, createExecutionLogger } from './execution.module';
export type { ExecutionModuleOptions } from './execution.module';
