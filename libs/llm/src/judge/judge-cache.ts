import type { Sql } from '@assay/database';
import { createHash } from 'node:crypto';
import type { ChatMessage, TokenUsage } from '../client/llm-client';

/** What identifies one judge answer: the metric version, the model and everything sent to it. */
export interface JudgeCacheKey {
  readonly metricId: string;
  readonly metricVersion: number;
  /** The model asked for (not the snapshot name the provider answers with). */
  readonly model: string;
  /** `judgePromptHash(...)` of the rendered messages and sampling parameters. */
  readonly promptHash: string;
}

/** A judge answer as the cache keeps it. */
export interface JudgeCacheEntry {
  readonly score: number;
  readonly reasoning: string;
  readonly raw: string;
  /** The model that answered, as the provider named it. */
  readonly model: string;
  readonly provider: string;
  /** What the original call used and cost (a cache hit itself costs nothing). */
  readonly usage: TokenUsage;
  readonly cost: number;
  readonly createdAt?: Date;
}

/**
 * sha256 over everything that can change the answer besides the model: the messages as sent
 * (the format instruction included), the sampling parameters and the output type. The provider's
 * name is not part of it: the same model behind a renamed provider answers the same.
 */
export function judgePromptHash(input: {
  readonly messages: readonly ChatMessage[];
  readonly outputType: string;
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxTokens?: number;
  readonly jsonMode?: boolean;
}): string {
  const canonical = JSON.stringify({
    v: 1,
    messages: input.messages.map((m) => [m.role, m.content]),
    outputType: input.outputType,
    temperature: input.temperature ?? null,
    topP: input.topP ?? null,
    maxTokens: input.maxTokens ?? null,
    jsonMode: input.jsonMode ?? null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Judge answers in PostgreSQL (`llm_judge_cache`), so re-scoring an unchanged record with the same
 * metric version and model costs no model call. The last answer written for a key wins: a run
 * that bypasses the cache refreshes it.
 */
export class JudgeCache {
  constructor(private readonly sql: Sql) {}

  async get(key: JudgeCacheKey): Promise<JudgeCacheEntry | undefined> {
    const rows = await this.sql.query<{ result: JudgeCacheEntry; created_at: Date }>(
      `select result, created_at from llm_judge_cache where metric_id = $1 and metric_version = $2 and model = $3 and prompt_hash = $4`,
      [key.metricId, key.metricVersion, key.model, key.promptHash],
    );
    return rows[0] ? { ...rows[0].result, createdAt: rows[0].created_at } : undefined;
  }

  /** One statement for a batch of records; the map is keyed by `cacheKeyString(key)`. */
  async getMany(keys: readonly JudgeCacheKey[]): Promise<Map<string, JudgeCacheEntry>> {
    const found = new Map<string, JudgeCacheEntry>();
    if (keys.length === 0) return found;
    const rows = await this.sql.query<{ metric_id: string; metric_version: number; model: string; prompt_hash: string; result: JudgeCacheEntry; created_at: Date }>(
      `select c.metric_id, c.metric_version, c.model, c.prompt_hash, c.result, c.created_at
         from unnest($1::text[], $2::int[], $3::text[], $4::text[]) as k(metric_id, metric_version, model, prompt_hash)
         join llm_judge_cache c using (metric_id, metric_version, model, prompt_hash)`,
      [keys.map((k) => k.metricId), keys.map((k) => k.metricVersion), keys.map((k) => k.model), keys.map((k) => k.promptHash)],
    );
    for (const row of rows) {
      found.set(cacheKeyString({ metricId: row.metric_id, metricVersion: row.metric_version, model: row.model, promptHash: row.prompt_hash }), { ...row.result, createdAt: row.created_at });
    }
    return found;
  }

  async put(key: JudgeCacheKey, entry: JudgeCacheEntry): Promise<void> {
    const { createdAt: _createdAt, ...result } = entry;
    await this.sql.query(
      `insert into llm_judge_cache (metric_id, metric_version, model, prompt_hash, result) values ($1, $2, $3, $4, $5::jsonb)
       on conflict (metric_id, metric_version, model, prompt_hash) do update set result = excluded.result, created_at = now()`,
      [key.metricId, key.metricVersion, key.model, key.promptHash, JSON.stringify(result)],
    );
  }
}

export function cacheKeyString(key: JudgeCacheKey): string {
  return `${key.metricId}\u0000${key.metricVersion}\u0000${key.model}\u0000${key.promptHash}`;
}
