import Ajv2020 from 'ajv/dist/2020';
import { AssayError } from '@assay/contracts';
import { checkTemplate } from '../template/jinja';

/**
 * The config of a prompt system: chat messages whose `content` is a Jinja template over the
 * testcase's inputs (checked to parse here; rendered with system runs), and the model settings.
 * Other keys are kept as they are, for system kinds of their own.
 */
const promptConfigSchema = {
  type: 'object',
  required: ['messages', 'modelName'],
  properties: {
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role', 'content'],
        additionalProperties: false,
        properties: {
          role: { enum: ['system', 'user', 'assistant'] },
          content: { type: 'string' },
        },
      },
    },
    modelName: { type: 'string', minLength: 1 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    maxTokens: { type: 'integer', minimum: 1 },
    topP: { type: 'number', minimum: 0, maximum: 1 },
  },
};

const validatePrompt = new Ajv2020({ allErrors: true, strict: false }).compile(promptConfigSchema);

/** Largest config (as JSON, UTF-8 bytes): the version's event stays well under the bus's 1 MiB message limit. */
export const MAX_SYSTEM_CONFIG_BYTES = 256 * 1024;

/**
 * A system version's config is a JSON object. One with `messages` is a prompt system and must
 * match the prompt config shape; SYSTEM_CONFIG_INVALID lists every problem with its path.
 */
export function assertValidSystemConfig(config: unknown): asserts config is Record<string, unknown> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new AssayError('SYSTEM_CONFIG_INVALID', 'config must be a JSON object, e.g. {"messages": [...], "modelName": "..."}.', {
      errors: [{ path: '', message: 'must be object' }],
    });
  }
  if (Buffer.byteLength(JSON.stringify(config)) > MAX_SYSTEM_CONFIG_BYTES) {
    throw new AssayError('SYSTEM_CONFIG_INVALID', `config is larger than ${MAX_SYSTEM_CONFIG_BYTES} bytes as JSON.`);
  }
  if (!('messages' in config)) return;
  if (!validatePrompt(config)) {
    const errors = (validatePrompt.errors ?? []).map((e) => ({
      path: e.keyword === 'required' ? `${e.instancePath}/${String(e.params.missingProperty)}` : e.instancePath || '',
      message:
        e.keyword === 'enum' ? `${e.message}: ${(e.params.allowedValues as unknown[]).join(', ')}` : e.keyword === 'additionalProperties' ? `${e.message}: ${String(e.params.additionalProperty)}` : (e.message ?? e.keyword),
    }));
    throw new AssayError(
      'SYSTEM_CONFIG_INVALID',
      `A prompt system config (one with messages) is {messages: [{role, content}], modelName, temperature, maxTokens, topP}: ${errors
        .slice(0, 5)
        .map((e) => `${e.path || '/'} ${e.message}`)
        .join('; ')}.`,
      { errors },
    );
  }
  // Each message is a Jinja template over the testcase's inputs: it must parse, and name no other
  // variable (TEMPLATE_INVALID with line and column). Rendering comes with system runs.
  (config.messages as { content: string }[]).forEach((message, index) =>
    checkTemplate(message.content, { field: `config.messages[${index}].content`, variables: PROMPT_TEMPLATE_VARIABLES }),
  );
}

/** What a prompt system's message templates are rendered with. */
export const PROMPT_TEMPLATE_VARIABLES = ['inputs'] as const;
