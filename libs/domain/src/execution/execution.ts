import { createHash } from 'node:crypto';
import { AssayError, EventData } from '@assay/contracts';
import { assertValidSystemConfig, PROMPT_TEMPLATE_VARIABLES } from '../system/prompt-config';
import { CompiledTemplate, compileTemplate } from '../template/jinja';

/**
 * Runs the server executes (issue 4, kickoffRun): stream names, ids and the rules every
 * process applies the same way. See the event contracts (ExecutionsPlanned, ExecutionsScheduled,
 * ExecutionFailed, KickoffKeyClaimed) for why each stream exists.
 */

/** What a kickoff plans and the batches the workers receive: `executions-<runId>`. */
export const executionsStreamId = (runId: string) => `executions-${runId}`;
/** One (testcase, trial) of a run: its RecordAdded, or its ExecutionFailed. */
export const executionStreamId = (recordId: string) => `execution-${recordId}`;
/** The claim of an idempotency key in a project (the key is hashed: any length, any characters). */
export const kickoffKeyStreamId = (projectId: string, idempotencyKey: string) =>
  `kickoff-key-${createHash('sha256').update(projectId).update('\0').update(idempotencyKey).digest('hex')}`;

/** Most times one testcase may run in one kickoff. */
export const MAX_TRIALS = 100;
/** Most executions (testcases × trials) one kickoff may schedule. */
export const MAX_KICKOFF_EXECUTIONS = 100_000;
/** Most bytes of testcases (as JSON) one kickoff holds in memory and stores at once. */
export const MAX_KICKOFF_BYTES = 256 * 2 ** 20;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** Executions per ExecutionsScheduled event: the unit a worker takes (and retries) at once. */
export const EXECUTIONS_PER_BATCH = 32;
/** Largest ExecutionsScheduled event (testcases as JSON): well under the bus's 1 MiB message. */
export const MAX_SCHEDULED_BATCH_BYTES = 256 * 1024;

/** A UUID (version 5 layout) from a name: the same name, the same id, in every process. */
export function uuidFrom(name: string): string {
  const hash = createHash('sha256').update(name).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The record id of one (testcase, trial) of a run: a redelivered execution finds its record by it. */
export const executionRecordId = (runId: string, testcaseKey: string, trial: number) => uuidFrom(`assay/execution/${runId}/${trial}/${testcaseKey}`);
/** Event ids derived from the record id: appending the same outcome twice is refused by the store. */
export const executionEventId = (recordId: string, kind: 'record' | 'failure') => uuidFrom(`assay/execution-event/${recordId}/${kind}`);

export type KickoffTestcase = EventData<'ExecutionsScheduled'>['testcases'][number];

/**
 * Cuts a kickoff's testcases into ExecutionsScheduled batches: at most EXECUTIONS_PER_BATCH
 * executions (testcases × trials) and MAX_SCHEDULED_BATCH_BYTES of JSON each (a larger testcase
 * goes alone). Small batches spread over every worker process; each is retried on its own.
 */
export function batchTestcases(
  testcases: readonly KickoffTestcase[],
  trials: number,
  limits: { executionsPerBatch?: number; maxBytes?: number } = {},
): KickoffTestcase[][] {
  const perBatch = Math.max(1, Math.floor((limits.executionsPerBatch ?? EXECUTIONS_PER_BATCH) / trials));
  const maxBytes = limits.maxBytes ?? MAX_SCHEDULED_BATCH_BYTES;
  const batches: KickoffTestcase[][] = [];
  let current: KickoffTestcase[] = [];
  let bytes = 0;
  for (const testcase of testcases) {
    const size = Buffer.byteLength(JSON.stringify(testcase));
    if (current.length > 0 && (current.length >= perBatch || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(testcase);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** What a record of an executed run holds as its outputs: the model's answer. */
export function executionOutputs(answer: string): { output: string } {
  return { output: answer };
}

export interface PromptMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** A prompt system compiled once per version (or inline config): render it for every testcase. */
export interface CompiledPromptSystem {
  readonly model: string;
  /** The LLM provider named in the config (`provider`), else the default one. */
  readonly provider?: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly topP?: number;
  /** Throws TemplateRenderError when a template prints a field the inputs lack. */
  render(inputs: unknown): PromptMessage[];
}

/**
 * Checks a config is a prompt system ({messages, modelName, …}) and compiles its message
 * templates. Anything else is refused with SYSTEM_CONFIG_INVALID: only prompt systems run on the
 * server (other systems send their records with addRecords).
 */
export function compilePromptSystem(config: unknown): CompiledPromptSystem {
  assertValidSystemConfig(config);
  if (!('messages' in config)) {
    throw new AssayError(
      'SYSTEM_CONFIG_INVALID',
      'Only prompt systems run on the server: the config needs {messages: [{role, content}], modelName} (a system of another kind sends its outputs with createRun and addRecords).',
      { errors: [{ path: '/messages', message: 'is required to run on the server' }] },
    );
  }
  const provider = config.provider;
  if (provider !== undefined && (typeof provider !== 'string' || provider.length === 0)) {
    throw new AssayError('SYSTEM_CONFIG_INVALID', 'config.provider must name an LLM provider (e.g. "openai").', { errors: [{ path: '/provider', message: 'must be a non-empty string' }] });
  }
  const messages = (config.messages as { role: PromptMessage['role']; content: string }[]).map((message, index) => ({
    role: message.role,
    template: compileTemplate(message.content, { field: `config.messages[${index}].content`, variables: PROMPT_TEMPLATE_VARIABLES }) as CompiledTemplate,
  }));
  return {
    model: config.modelName as string,
    provider: provider as string | undefined,
    temperature: config.temperature as number | undefined,
    maxTokens: config.maxTokens as number | undefined,
    topP: config.topP as number | undefined,
    render: (inputs) => messages.map(({ role, template }) => ({ role, content: template.render({ inputs: inputs ?? {} }) })),
  };
}

/** A kickoff's trials: 1 by default, at most MAX_TRIALS. */
export function assertTrials(trials: number): void {
  if (!Number.isInteger(trials) || trials < 1 || trials > MAX_TRIALS) {
    throw new AssayError('BAD_USER_INPUT', `trials must be a whole number from 1 to ${MAX_TRIALS} (got ${trials}): how many times each testcase runs.`, { trials });
  }
}
