import { AssayError } from '@assay/contracts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProviders } from './providers';

const writeConfig = (name: string, content: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'assay-llm-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
};

const problemsOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AssayError);
    expect((error as AssayError).code).toBe('LLM_CONFIG_INVALID');
    return (error as AssayError).message;
  }
  throw new Error('expected LLM_CONFIG_INVALID');
};

describe('loadProviders', () => {
  it('makes the default openai provider from the openai package variables and ASSAY_LLM_*', () => {
    const registry = loadProviders({ env: {} });
    expect(registry.defaultProvider).toBe('openai');
    expect(registry.providers.get('openai')).toMatchObject({
      baseURL: 'https://api.openai.com/v1',
      apiKeyEnv: 'OPENAI_API_KEY',
      maxConcurrency: 16,
      rpm: null,
      tpm: null,
      governorKey: 'openai',
    });

    const tuned = loadProviders({ env: { OPENAI_BASE_URL: 'http://litellm:4000/v1', ASSAY_LLM_MAX_CONCURRENCY: '32', ASSAY_LLM_RPM: '500', ASSAY_LLM_TPM: '90000' } });
    expect(tuned.providers.get('openai')).toMatchObject({ baseURL: 'http://litellm:4000/v1', maxConcurrency: 32, rpm: 500, tpm: 90000 });
    expect(loadProviders({ env: { ASSAY_LLM_RPM: 'unlimited' } }).providers.get('openai')!.rpm).toBeNull();
  });

  it('refuses bad environment values, naming each', () => {
    const message = problemsOf(() => loadProviders({ env: { ASSAY_LLM_MAX_CONCURRENCY: 'many', ASSAY_LLM_RPM: '-3' } }));
    expect(message).toContain('ASSAY_LLM_MAX_CONCURRENCY="many" must be a whole number');
    expect(message).toContain('ASSAY_LLM_RPM="-3"');
  });

  it('adds providers from the JSON file in ASSAY_LLM_CONFIG, and lets it refine openai', () => {
    const file = writeConfig(
      'llm.json',
      JSON.stringify({
        defaultProvider: 'vllm',
        providers: {
          openai: { prices: { 'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 } } },
          vllm: { baseURL: 'http://vllm:8000/v1', maxConcurrency: 64, rpm: null, jsonMode: false },
        },
      }),
    );
    const registry = loadProviders({ env: { ASSAY_LLM_CONFIG: file, ASSAY_LLM_MAX_CONCURRENCY: '8' } });
    expect(registry.defaultProvider).toBe('vllm');
    expect(registry.providers.get('openai')).toMatchObject({ maxConcurrency: 8, prices: { 'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 } } });
    expect(registry.providers.get('vllm')).toMatchObject({ baseURL: 'http://vllm:8000/v1', maxConcurrency: 64, rpm: null, jsonMode: false, apiKeyEnv: undefined });
  });

  // Assay does not depend on a YAML parser; the `yaml` package usually comes with the dev tools.
  const hasYaml = (() => {
    try {
      require.resolve('yaml');
      return true;
    } catch {
      return false;
    }
  })();
  (hasYaml ? it : it.skip)('reads YAML when a parser is installed', () => {
    const file = writeConfig('llm.yaml', 'providers:\n  ollama:\n    baseURL: http://ollama:11434/v1\n    maxConcurrency: 2\n');
    expect(loadProviders({ env: { ASSAY_LLM_CONFIG: file } }).providers.get('ollama')).toMatchObject({ maxConcurrency: 2 });
  });

  it('lists every problem of the file with its path', () => {
    const file = writeConfig(
      'bad.json',
      JSON.stringify({ providers: { vllm: { baseURL: 'vllm:8000', maxConcurency: 4, rpm: 0, prices: { m: { inputPerMTok: 'cheap' } } }, x: { maxConcurrency: 2 } } }),
    );
    const message = problemsOf(() => loadProviders({ env: { ASSAY_LLM_CONFIG: file } }));
    expect(message).toContain(file);
    expect(message).toContain('providers.vllm.baseURL "vllm:8000" is not an http(s) URL');
    expect(message).toContain('providers.vllm.maxConcurency is not a provider setting');
    expect(message).toContain('providers.vllm.rpm must be a number > 0, or null for unlimited');
    expect(message).toContain('providers.vllm.prices.m.inputPerMTok must be a number ≥ 0');
    expect(message).toContain('providers.vllm.prices.m.outputPerMTok must be a number ≥ 0');

    expect(problemsOf(() => loadProviders({ env: { ASSAY_LLM_CONFIG: writeConfig('x.json', JSON.stringify({ providers: { x: { maxConcurrency: 2 } } })) } }))).toContain(
      'provider "x": baseURL is required',
    );
    expect(problemsOf(() => loadProviders({ env: { ASSAY_LLM_CONFIG: writeConfig('broken.json', '{ "providers": ') } }))).toMatch(/is not valid JSON/);
    expect(problemsOf(() => loadProviders({ env: { ASSAY_LLM_CONFIG: '/nonexistent/llm.json' } }))).toMatch(/cannot be read/);
    expect(problemsOf(() => loadProviders({ env: {}, defaultProvider: 'nope' }))).toContain('defaultProvider "nope" is not a configured provider');
  });
});
