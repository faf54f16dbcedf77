export * from './types';
export { ExecutionService, type ExecutionServiceDeps } from './execution-service';
export { KickoffCommands, type KickoffCommandsDeps } from './kickoff/kickoff-commands';
export { resolveTarget, MAX_INLINE_TESTCASES, type ExecutionCatalog, type ResolvedTarget } from './kickoff/resolve-target';
export { startPlayground, MAX_PLAYGROUND_TESTCASES, type PlaygroundDeps } from './playground/playground';
export { createExecutionHandler, type ExecutionHandlerDeps } from './worker/execution-handler';
export { OutcomeWriter } from './worker/outcome-writer';
export { executionConsumerOptions, EXECUTION_CONSUMER_NAME, EXECUTION_DEFAULTS, type ExecutionConsumerOptions } from './worker/execution-config';
export { callSystem, FailureCode as ExecutionFailureCode, type ChatClient, type ExecutionLogger } from './worker/system-call';
