import { accessMigrations, ApiKeys } from '@assay/access';
import { Database, MigrationObject } from '@assay/database';
import { eventStoreMigrations, PostgresEventStore } from '@assay/event-store';
import { HistoryQueries } from '@assay/history';
import { ExecutionService } from '@assay/execution';
import { JudgeCache, LlmClient, llmMigrations, LlmJudge } from '@assay/llm';
import { DEFAULT_JUDGE_MODEL, JudgeService, sharedCodeSandbox } from '@assay/scoring';
import { readModelMigrations, RunCatalog, RunCommands, RunQueries } from '@assay/runs';
import { HumanReview } from '@assay/runs';
import { SystemCommands, systemMigrations, SystemQueries } from '@assay/systems';
import { TestsetCommands, testsetMigrations, TestsetQueries } from '@assay/testsets';

/**
 * The composition root of the server side: one Database, one event store, and every capability's
 * commands and queries built on them. Each service process (and the all-in-one process) connects
 * through here, so a new capability is wired once: its migrations go in `migrations`, its command
 * and query objects in `Backend`.
 */
export const migrations: readonly MigrationObject[] = [...eventStoreMigrations, ...readModelMigrations, ...accessMigrations, ...testsetMigrations, ...systemMigrations, ...llmMigrations];

export interface Backend {
  readonly db: Database;
  readonly store: PostgresEventStore;
  readonly runs: { readonly commands: RunCommands; readonly queries: RunQueries };
  /** API keys: authentication (from the keys' streams, cached ≤ 2 s) and key management. */
  readonly access: ApiKeys;
  /** Testsets and their testcases (imports, exports). */
  readonly testsets: { readonly commands: TestsetCommands; readonly queries: TestsetQueries };
  /** Systems under test and their immutable versions. */
  readonly systems: { readonly commands: SystemCommands; readonly queries: SystemQueries };
  /** Human review (issue 4): people score records for HUMAN metrics; the queue of records waiting for them. */
  readonly review: HumanReview;
  /** History of metrics across runs and comparison of two runs (over the runs read models). */
  readonly history: HistoryQueries;
  /** Runs the server executes (kickoffRun, runAgain) and the playground (issue 4). */
  readonly execution: ExecutionService;
  /**
   * This process's LLM client, connected on first use (providers from the environment, see
   * @assay/llm): every model call of the process goes through its governor. Closed by close().
   */
  llm(): Promise<LlmClient>;
  /**
   * The LLM judge of AI metrics (issue 4) over this process's LLM client and the judge cache: what
   * the scoring workers and the playground score with. Default model: ASSAY_JUDGE_MODEL.
   */
  judge(): Promise<JudgeService>;
  close(): Promise<void>;
}

export async function connectBackend(options: { url: string; applicationName: string; poolMax?: number }): Promise<Backend> {
  const db = await Database.connect({ url: options.url, migrations, applicationName: options.applicationName, poolMax: options.poolMax });
  const store = new PostgresEventStore(db);
  const runQueries = new RunQueries(db);
  const testsetQueries = new TestsetQueries(db);
  const systemQueries = new SystemQueries(db);
  // What runs bound to a testset or a system version look up (their read models).
  const catalog: RunCatalog = {
    testset: (id) => testsetQueries.getTestset(id),
    systemVersion: (id) => systemQueries.getSystemVersion(id),
    testcasesOf: (testsetId, ids) => testsetQueries.testcasesOf(testsetId, ids),
  };
  const runCommands = new RunCommands(store, runQueries, { catalog, maxRecordBytes: maxRecordBytes() });
  let llm: Promise<LlmClient> | undefined;
  const connectLlm = () => {
    if (!llm) {
      llm = LlmClient.connect({ db });
      llm.catch(() => (llm = undefined));
    }
    return llm;
  };
  let judge: JudgeService | undefined;
  const judgeService = async (): Promise<JudgeService> => {
    const client = await connectLlm();
    const cache = new JudgeCache(db);
    judge ??= { judge: new LlmJudge(client, cache), cache, defaultModel: process.env.ASSAY_JUDGE_MODEL || DEFAULT_JUDGE_MODEL, provider: process.env.ASSAY_JUDGE_PROVIDER || undefined };
    return judge;
  };
  const execution = new ExecutionService({
    store,
    runs: runCommands,
    queries: runQueries,
    llm: connectLlm,
    // The playground scores in the process: CODE metrics in the shared sandbox, AI metrics with the judge (and its cache).
    planOptions: async (metrics) => ({
      ...(metrics.some((m) => m.evalType === 'HEURISTIC' && m.heuristic?.kind === 'CODE') ? { sandbox: sharedCodeSandbox() } : {}),
      ...(metrics.some((m) => m.evalType === 'AI') ? { judge: await judgeService() } : {}),
    }),
    catalog: {
      testset: (id) => testsetQueries.getTestset(id),
      testcases: (id) => testsetQueries.streamTestcases(id),
      testcasesByIds: (id, ids) => testsetQueries.getTestcases(id, ids),
      systemVersion: (id) => systemQueries.getSystemVersion(id),
    },
  });
  return {
    db,
    store,
    runs: { commands: runCommands, queries: runQueries },
    testsets: { commands: new TestsetCommands(store, testsetQueries), queries: testsetQueries },
    systems: { commands: new SystemCommands(store, systemQueries), queries: systemQueries },
    access: new ApiKeys(store, db),
    review: new HumanReview(store, db),
    history: new HistoryQueries(db),
    execution,
    llm: connectLlm,
    judge: judgeService,
    async close() {
      if (llm) await (await llm.catch(() => undefined))?.close();
      await store.close();
      await db.close();
    },
  };
}

/** ASSAY_MAX_RECORD_BYTES: the largest record accepted (see DEFAULT_MAX_RECORD_BYTES). */
function maxRecordBytes(): number | undefined {
  const raw = process.env.ASSAY_MAX_RECORD_BYTES;
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`ASSAY_MAX_RECORD_BYTES must be a positive integer, got "${raw}"`);
  return value;
}
