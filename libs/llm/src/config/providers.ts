import { AssayError } from '@assay/contracts';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';

/** Price of a model in dollars (or any currency, consistently) per million tokens. */
export interface ModelPrice {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
}

/** An OpenAI-compatible endpoint and the limits Assay keeps when calling it. */
export interface ProviderConfig {
  /** How metrics and systems refer to it ("openai", "vllm"…). */
  readonly name: string;
  /** e.g. https://api.openai.com/v1, http://vllm:8000/v1, http://ollama:11434/v1 */
  readonly baseURL: string;
  /** Environment variable holding the API key (none: local servers that want no key). */
  readonly apiKeyEnv?: string;
  /** Most calls in flight at once, across every Assay process. */
  readonly maxConcurrency: number;
  /** Requests per minute across every process; null = unlimited. */
  readonly rpm: number | null;
  /** Tokens (prompt + completion) per minute across every process; null = unlimited. */
  readonly tpm: number | null;
  /** Each attempt's timeout. */
  readonly timeoutMs: number;
  /** Attempts per call (1 = no retry) before it fails with a code a person can act on. */
  readonly maxAttempts: number;
  /** First backoff after a 5xx, timeout or connection failure; doubles per attempt (with jitter). */
  readonly retryBaseMs: number;
  /** Longest backoff between two attempts. */
  readonly retryMaxMs: number;
  /** Per model. A model without a price costs 0, with a note in the result. */
  readonly prices: Readonly<Record<string, ModelPrice>>;
  /** Whether it accepts `response_format: {type: "json_object"}` (judges ask for JSON with it). */
  readonly jsonMode: boolean;
  /** Name of the request field for the completion limit: max_tokens (widest support) or max_completion_tokens. */
  readonly maxTokensParam: 'max_tokens' | 'max_completion_tokens';
  /**
   * The limits are shared by every provider with the same key (default: the name). Give two
   * providers the same key when they are one account behind two names.
   */
  readonly governorKey: string;
}

export interface ProviderRegistry {
  readonly defaultProvider: string;
  readonly providers: ReadonlyMap<string, ProviderConfig>;
}

export const DEFAULT_PROVIDER = 'openai';
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

const DEFAULTS = {
  maxConcurrency: 16,
  timeoutMs: 60_000,
  maxAttempts: 6,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  jsonMode: true,
  maxTokensParam: 'max_tokens',
} as const;

/** Keys a provider entry of the configuration file may have (anything else is a typo). */
const PROVIDER_KEYS = [
  'baseURL',
  'apiKeyEnv',
  'maxConcurrency',
  'rpm',
  'tpm',
  'timeoutMs',
  'maxAttempts',
  'retryBaseMs',
  'retryMaxMs',
  'prices',
  'jsonMode',
  'maxTokensParam',
  'governorKey',
] as const;

export type ProviderInput = { readonly name: string } & Partial<Omit<ProviderConfig, 'name'>>;

/**
 * The providers this process may call:
 *
 * - `openai` (the default): the openai package's own `OPENAI_BASE_URL` and `OPENAI_API_KEY`;
 *   limits from `ASSAY_LLM_MAX_CONCURRENCY` (default 16), `ASSAY_LLM_RPM` and `ASSAY_LLM_TPM`
 *   (default unlimited), `ASSAY_LLM_TIMEOUT_MS` (60000) and `ASSAY_LLM_MAX_ATTEMPTS` (6).
 * - more from the JSON (or YAML, .yaml/.yml) file named by `ASSAY_LLM_CONFIG`:
 *
 *   { "defaultProvider": "openai",
 *     "providers": {
 *       "openai": { "prices": { "gpt-4o-mini": { "inputPerMTok": 0.15, "outputPerMTok": 0.6 } } },
 *       "vllm":   { "baseURL": "http://vllm:8000/v1", "maxConcurrency": 64, "jsonMode": true } } }
 *
 *   An `openai` entry in the file changes the defaults field by field.
 *
 * `overrides` (tests, embedding) are applied last, field by field, by name. Throws AssayError
 * LLM_CONFIG_INVALID listing every problem found.
 */
export function loadProviders(options: { env?: NodeJS.ProcessEnv; overrides?: readonly ProviderInput[]; defaultProvider?: string } = {}): ProviderRegistry {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const fromEnv = (name: string, parse: (value: string) => number | null | undefined, what: string): number | null | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const value = parse(raw.trim());
    if (value === undefined) problems.push(`${name}=${JSON.stringify(raw)} must be ${what}`);
    return value;
  };
  const positiveInt = (v: string) => (/^\d+$/.test(v) && Number(v) >= 1 ? Number(v) : undefined);
  const limit = (v: string) => (/^(0|unlimited|none)$/i.test(v) ? null : /^\d+(\.\d+)?$/.test(v) && Number(v) > 0 ? Number(v) : undefined);

  const openai: ProviderInput = {
    name: DEFAULT_PROVIDER,
    baseURL: env.OPENAI_BASE_URL?.trim() || OPENAI_DEFAULT_BASE_URL,
    apiKeyEnv: 'OPENAI_API_KEY',
    maxConcurrency: fromEnv('ASSAY_LLM_MAX_CONCURRENCY', positiveInt, 'a whole number ≥ 1') ?? undefined,
    rpm: fromEnv('ASSAY_LLM_RPM', limit, 'a number > 0, or 0/"unlimited"'),
    tpm: fromEnv('ASSAY_LLM_TPM', limit, 'a number > 0, or 0/"unlimited"'),
    timeoutMs: fromEnv('ASSAY_LLM_TIMEOUT_MS', positiveInt, 'a whole number of milliseconds ≥ 1') ?? undefined,
    maxAttempts: fromEnv('ASSAY_LLM_MAX_ATTEMPTS', positiveInt, 'a whole number ≥ 1') ?? undefined,
  };

  const inputs = new Map<string, ProviderInput>([[DEFAULT_PROVIDER, openai]]);
  let defaultProvider = options.defaultProvider ?? DEFAULT_PROVIDER;

  const file = env.ASSAY_LLM_CONFIG?.trim();
  if (file) {
    const parsed = readConfigFile(file);
    const where = `ASSAY_LLM_CONFIG (${file})`;
    const fileProblems = validateConfigDocument(parsed);
    if (fileProblems.length > 0) {
      throw new AssayError('LLM_CONFIG_INVALID', `${where} is invalid:\n- ${fileProblems.join('\n- ')}`, { file, problems: fileProblems });
    }
    const doc = parsed as { defaultProvider?: string; providers?: Record<string, Record<string, unknown>> };
    for (const [name, entry] of Object.entries(doc.providers ?? {})) {
      inputs.set(name, merge(inputs.get(name) ?? { name }, entry));
    }
    if (doc.defaultProvider && !options.defaultProvider) defaultProvider = doc.defaultProvider;
  }
  for (const override of options.overrides ?? []) {
    inputs.set(override.name, merge(inputs.get(override.name) ?? { name: override.name }, override));
  }

  const providers = new Map<string, ProviderConfig>();
  for (const input of inputs.values()) {
    const config = complete(input, problems);
    if (config) providers.set(config.name, config);
  }
  if (!inputs.has(defaultProvider)) problems.push(`defaultProvider "${defaultProvider}" is not a configured provider (${[...inputs.keys()].join(', ')})`);
  if (problems.length > 0) {
    throw new AssayError('LLM_CONFIG_INVALID', `LLM provider configuration is invalid:\n- ${problems.join('\n- ')}`, { problems });
  }
  return { defaultProvider, providers };
}

function merge(base: ProviderInput, patch: Record<string, unknown>): ProviderInput {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const prices = { ...(base.prices ?? {}), ...((defined.prices as Record<string, ModelPrice> | undefined) ?? {}) };
  return { ...base, ...defined, prices } as ProviderInput;
}

/** Fills defaults and checks what the file validation cannot (overrides, missing baseURL). */
function complete(input: ProviderInput, problems: string[]): ProviderConfig | undefined {
  const before = problems.length;
  const at = `provider "${input.name}"`;
  if (!input.baseURL) problems.push(`${at}: baseURL is required (e.g. "http://vllm:8000/v1")`);
  else if (!isHttpUrl(input.baseURL)) problems.push(`${at}: baseURL ${JSON.stringify(input.baseURL)} is not an http(s) URL`);
  const config: ProviderConfig = {
    name: input.name,
    baseURL: input.baseURL ?? '',
    apiKeyEnv: input.apiKeyEnv,
    maxConcurrency: input.maxConcurrency ?? DEFAULTS.maxConcurrency,
    rpm: input.rpm ?? null,
    tpm: input.tpm ?? null,
    timeoutMs: input.timeoutMs ?? DEFAULTS.timeoutMs,
    maxAttempts: input.maxAttempts ?? DEFAULTS.maxAttempts,
    retryBaseMs: input.retryBaseMs ?? DEFAULTS.retryBaseMs,
    retryMaxMs: input.retryMaxMs ?? DEFAULTS.retryMaxMs,
    prices: input.prices ?? {},
    jsonMode: input.jsonMode ?? DEFAULTS.jsonMode,
    maxTokensParam: input.maxTokensParam ?? DEFAULTS.maxTokensParam,
    governorKey: input.governorKey ?? input.name,
  };
  for (const key of ['maxConcurrency', 'timeoutMs', 'maxAttempts', 'retryBaseMs', 'retryMaxMs'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) problems.push(`${at}: ${key} must be a whole number ≥ 1 (got ${JSON.stringify(config[key])})`);
  }
  for (const key of ['rpm', 'tpm'] as const) {
    const value = config[key];
    if (value !== null && !(typeof value === 'number' && value > 0)) problems.push(`${at}: ${key} must be a number > 0, or null for unlimited (got ${JSON.stringify(value)})`);
  }
  return problems.length === before ? config : undefined;
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AssayError('LLM_CONFIG_INVALID', `ASSAY_LLM_CONFIG names ${file}, which cannot be read: ${(error as Error).message}`, { file });
  }
  const extension = extname(file).toLowerCase();
  if (extension === '.yaml' || extension === '.yml') {
    const yaml = optionalYamlParser();
    if (!yaml) {
      throw new AssayError('LLM_CONFIG_INVALID', `ASSAY_LLM_CONFIG (${file}) is YAML, but no YAML parser (the "yaml" package) is installed: write it as JSON instead`, { file });
    }
    try {
      return yaml.parse(text);
    } catch (error) {
      throw new AssayError('LLM_CONFIG_INVALID', `ASSAY_LLM_CONFIG (${file}) is not valid YAML: ${(error as Error).message}`, { file });
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AssayError('LLM_CONFIG_INVALID', `ASSAY_LLM_CONFIG (${file}) is not valid JSON: ${(error as Error).message}`, { file });
  }
}

/** The `yaml` package when some dependency brought it along; Assay does not depend on it. */
function optionalYamlParser(): { parse(text: string): unknown } | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('yaml') as { parse(text: string): unknown };
  } catch {
    return undefined;
  }
}

/** Every problem of the document, each with its path, so one edit fixes them all. */
export function validateConfigDocument(doc: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(doc)) return ['the file must hold an object: { "providers": { "<name>": { "baseURL": … } } }'];
  for (const key of Object.keys(doc)) {
    if (key !== 'providers' && key !== 'defaultProvider') problems.push(`unknown key "${key}" (expected "providers" and optionally "defaultProvider")`);
  }
  if (doc.defaultProvider !== undefined && typeof doc.defaultProvider !== 'string') problems.push('defaultProvider must be a provider name');
  if (doc.providers === undefined) return problems;
  if (!isObject(doc.providers)) return [...problems, 'providers must be an object keyed by provider name'];
  for (const [name, entry] of Object.entries(doc.providers)) {
    const at = `providers.${name}`;
    if (!/^[A-Za-z0-9][\w.-]*$/.test(name)) problems.push(`${at}: a provider name is letters, digits, ".", "_" and "-"`);
    if (!isObject(entry)) {
      problems.push(`${at} must be an object`);
      continue;
    }
    for (const key of Object.keys(entry)) {
      if (!(PROVIDER_KEYS as readonly string[]).includes(key)) problems.push(`${at}.${key} is not a provider setting (known: ${PROVIDER_KEYS.join(', ')})`);
    }
    const str = (key: string) => entry[key] !== undefined && (typeof entry[key] !== 'string' || entry[key] === '') && problems.push(`${at}.${key} must be a non-empty string`);
    const int = (key: string) =>
      entry[key] !== undefined && !(Number.isInteger(entry[key]) && (entry[key] as number) >= 1) && problems.push(`${at}.${key} must be a whole number ≥ 1 (got ${JSON.stringify(entry[key])})`);
    const lim = (key: string) =>
      entry[key] !== undefined && entry[key] !== null && !(typeof entry[key] === 'number' && (entry[key] as number) > 0) && problems.push(`${at}.${key} must be a number > 0, or null for unlimited (got ${JSON.stringify(entry[key])})`);
    str('baseURL');
    if (typeof entry.baseURL === 'string' && entry.baseURL && !isHttpUrl(entry.baseURL)) problems.push(`${at}.baseURL ${JSON.stringify(entry.baseURL)} is not an http(s) URL`);
    str('apiKeyEnv');
    str('governorKey');
    ['maxConcurrency', 'timeoutMs', 'maxAttempts', 'retryBaseMs', 'retryMaxMs'].forEach(int);
    ['rpm', 'tpm'].forEach(lim);
    if (entry.jsonMode !== undefined && typeof entry.jsonMode !== 'boolean') problems.push(`${at}.jsonMode must be true or false`);
    if (entry.maxTokensParam !== undefined && entry.maxTokensParam !== 'max_tokens' && entry.maxTokensParam !== 'max_completion_tokens') {
      problems.push(`${at}.maxTokensParam must be "max_tokens" or "max_completion_tokens"`);
    }
    if (entry.prices !== undefined) {
      if (!isObject(entry.prices)) problems.push(`${at}.prices must be an object keyed by model name`);
      else {
        for (const [model, price] of Object.entries(entry.prices)) {
          const p = `${at}.prices.${model}`;
          if (!isObject(price)) {
            problems.push(`${p} must be { "inputPerMTok": number, "outputPerMTok": number }`);
            continue;
          }
          for (const key of Object.keys(price)) if (key !== 'inputPerMTok' && key !== 'outputPerMTok') problems.push(`${p}.${key} is unknown (inputPerMTok, outputPerMTok)`);
          for (const key of ['inputPerMTok', 'outputPerMTok']) {
            if (!(typeof price[key] === 'number' && (price[key] as number) >= 0)) problems.push(`${p}.${key} must be a number ≥ 0 (price per million tokens)`);
          }
        }
      }
    }
  }
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
