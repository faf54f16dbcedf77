import type { BatchHandler, Delivery } from '@assay/bus';
import { EventData, parseEvent, isAssayError, MetricSnapshot } from '@assay/contracts';
import type { JudgeRequest } from '@assay/llm';
import { CodeScoringFailure, sharedCodeSandbox } from '../code/code-sandbox';
import { classifyJudgeError, Judged, judgeEach, judgeRequest } from '../judge/judge-scoring';
import { LruCache } from './lru-cache';
import { errorMessage, isDeterministic, MetricPlan, planRun, RunPlan } from './run-plan';
import { ScoringFailureCode, ScoringHandlerDeps, ScoringOutcome } from './types';

type RecordAddedData = EventData<'RecordAdded'>;
/** What the worker scores: RecordAdded, or RecordRescoreRequested (rescoreRun) with its round and metrics. */
const SCORED_TYPES = new Set(['RecordAdded', 'RecordRescoreRequested']);

/** A judge call waiting to be made for one (record, metric). */
interface JudgeTask {
  readonly item: Item;
  readonly plan: Extract<MetricPlan, { kind: 'judge' }>;
  readonly request: JudgeRequest;
}

/** One delivery on its way through a batch. */
interface Item {
  readonly delivery: Delivery;
  /** Set once the payload names its run and record. */
  ids?: { readonly runId: string; readonly recordId: string };
  /** Set when the payload is valid. */
  record?: Pick<RecordAddedData, 'runId' | 'recordId' | 'testcaseId' | 'inputs' | 'outputs' | 'expected'>;
  /** RecordRescoreRequested: the round asked for, the metrics to score again, whether to bypass the judge cache. */
  rescore?: { readonly round: number; readonly metricIds: ReadonlySet<string>; readonly bypassCache: boolean };
  /** A permanent problem with the payload itself, recorded for each metric of the run. */
  payloadProblem?: { readonly code: string; readonly reason: string };
  plan?: RunPlan;
  outcomes: ScoringOutcome[];
  /** Why this delivery must be retried (or, on its last attempt, failed). */
  error?: unknown;
  /** A judge call of this record failed for now (provider down): its other outcomes are recorded, the delivery retried. */
  judgePending?: boolean;
}

interface Totals {
  batches: number;
  deliveries: number;
  scores: number;
  failures: number;
  acked: number;
  naked: number;
  termed: number;
}

const IDS_LOGGED = 10;
/** Scoring yields to the event loop this often, so the bus's acks and heartbeats are not starved. */
const YIELD_EVERY_MS = 25;
/** While judge calls come back, records whose calls are all answered are stored (and acked) this often. */
const STORE_EVERY_MS = 250;

/**
 * The scoring worker's logic, as a bus batch handler for RecordAdded deliveries. Per batch: every
 * record is scored by every metric its run pinned, all outcomes are stored with ONE
 * `recordOutcomes` call, then every delivery is acked. When storing fails (the database is down),
 * each delivery is nak'ed for redelivery with the bus's backoff, except on its last attempt, where
 * a MAX_DELIVERIES_EXCEEDED failure is recorded for each of its metrics before it is termed.
 * Nothing is dropped silently: a delivery whose failure cannot even be recorded is nak'ed and logged.
 */
export function createScoringHandler(deps: ScoringHandlerDeps): BatchHandler {
  const { logger } = deps;
  const now = deps.now ?? Date.now;
  const workingIntervalMs = deps.workingIntervalMs ?? 5_000;
  const totalsIntervalMs = deps.totalsIntervalMs ?? 60_000;
  const cache = new LruCache<string, Promise<RunPlan>>(deps.metricsCacheSize ?? 1_000);
  const totals: Totals = { batches: 0, deliveries: 0, scores: 0, failures: 0, acked: 0, naked: 0, termed: 0 };
  let lastTotalsAt = now();

  /**
   * The run's plan, loaded once per run and again when its re-score stream moved past the cached
   * plan's (`rescoreVersion`, read before loading). A failed or empty load is not cached: the next
   * delivery retries it.
   */
  function planOf(runId: string, rescoreVersion?: number): Promise<RunPlan> {
    const cached = cache.get(runId);
    if (cached && rescoreVersion === undefined) return cached;
    if (cached) {
      const checked = cached.then(
        (plan) => ((plan.rescoreVersion ?? 0) >= rescoreVersion! ? plan : load(runId, rescoreVersion)),
        () => load(runId, rescoreVersion),
      );
      return checked;
    }
    return load(runId, rescoreVersion);
  }

  function load(runId: string, rescoreVersion: number | undefined): Promise<RunPlan> {
    const loading = deps.metricsOfRun(runId).then((metrics) => {
      if (metrics.length === 0) {
        // RunCreated precedes RecordAdded in the log, so the run exists; a reader that lags behind it
        // has not seen it yet. Retry later rather than cache "no metrics".
        throw Object.assign(new Error(`Run ${runId} has no metrics (not visible to the scoring service yet?)`), { code: 'RUN_NOT_FOUND' });
      }
      const runsCode = metrics.some((metric) => metric.evalType === 'HEURISTIC' && metric.heuristic?.kind === 'CODE');
      return planRun(runId, metrics, { judge: deps.judge, ...(runsCode ? { sandbox: deps.codeSandbox ?? sharedCodeSandbox() } : {}) }).then((plan) => ({ ...plan, rescoreVersion }));
    });
    cache.set(runId, loading);
    loading.catch(() => cache.deleteIf(runId, loading));
    return loading;
  }

  return async function handleRecordAddedBatch(batch) {
    const startedAt = now();
    const counts = { scores: 0, failures: 0, acked: 0, naked: 0, termed: 0, ignored: 0 };
    const settled = new Set<Delivery>();
    const ack = (item: Item) => {
      settled.add(item.delivery);
      item.delivery.ack();
      counts.acked++;
      for (const outcome of item.outcomes) {
        if (outcome.kind === 'score') counts.scores++;
        else counts.failures++;
      }
    };
    const nak = (item: Item) => {
      settled.add(item.delivery);
      item.delivery.nak();
      counts.naked++;
    };
    const term = (item: Item, reason: string) => {
      settled.add(item.delivery);
      item.delivery.term(reason);
      counts.termed++;
    };

    let lastWorkingAt = startedAt;
    let lastYieldAt = startedAt;
    /** During long CPU work: keep the ack deadlines alive and let the bus's I/O run. */
    const breathe = async () => {
      const at = now();
      if (at - lastWorkingAt >= workingIntervalMs) {
        lastWorkingAt = at;
        for (const delivery of batch) if (!settled.has(delivery)) delivery.working();
      }
      if (at - lastYieldAt >= YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYieldAt = now();
      }
    };

    const items: Item[] = [];
    // Judge calls wait on a provider for seconds: hold every unsettled delivery's ack deadline meanwhile.
    const keepAlive = setInterval(() => {
      for (const delivery of batch) if (!settled.has(delivery)) delivery.working();
    }, workingIntervalMs);
    keepAlive.unref?.();
    try {
      // 1. Read each payload.
      for (const delivery of batch) {
        const item: Item = { delivery, outcomes: [] };
        if (!SCORED_TYPES.has(delivery.event.type)) {
          logger.warn({ eventId: delivery.event.eventId, type: delivery.event.type }, 'scoring received an event that is not RecordAdded: acking it unscored');
          counts.ignored++;
          ack(item);
          continue;
        }
        readPayload(item);
        if (!item.ids) {
          logger.error(
            { eventId: delivery.event.eventId, reason: item.payloadProblem?.reason },
            `${delivery.event.type} payload names no run and record: nothing to attach a failure to, terminating it`,
          );
          term(item, item.payloadProblem?.reason ?? `invalid ${delivery.event.type} payload`);
          continue;
        }
        items.push(item);
      }

      // 2. Load the plan of each run in the batch (cached per run; loaded again after a re-score).
      const runIds = [...new Set(items.filter((item) => !item.error).map((item) => item.ids!.runId))];
      const plans = new Map<string, RunPlan | { error: unknown }>();
      let versions: ReadonlyMap<string, number> | undefined;
      let versionsError: unknown;
      if (deps.rescoreVersions && runIds.length > 0) {
        try {
          versions = await deps.rescoreVersions(runIds);
        } catch (error) {
          versionsError = error;
        }
      }
      await Promise.all(
        runIds.map((runId) =>
          (versionsError ? Promise.reject(versionsError) : planOf(runId, versions ? (versions.get(runId) ?? 0) : undefined)).then(
            (plan) => plans.set(runId, plan),
            (error: unknown) => plans.set(runId, { error }),
          ),
        ),
      );
      for (const item of items) {
        if (item.error) continue;
        const plan = plans.get(item.ids!.runId)!;
        if ('error' in plan) item.error = plan.error;
        else item.plan = plan;
      }

      // 3. Score: heuristics and CODE record by record; judge calls of the whole batch at once.
      const judgeTasks: JudgeTask[] = [];
      for (const item of items) {
        if (item.error || !item.plan) continue;
        try {
          item.outcomes = await outcomesOf(item, item.plan, judgeTasks);
        } catch (error) {
          item.error = error; // the code sandbox is unavailable: retried like an outage
        }
        await breathe();
      }
      // 4. Store the outcomes, then ack: a batch without judge calls at once, in one call; with
      // judge calls, records as their calls are answered (see judgeAndStore).
      if (judgeTasks.length === 0) await storeAndAck(items);
      else await judgeAndStore(judgeTasks);

      // 5. Retry what failed, or record why it will not be retried.
      await retryOrGiveUp(items.filter((item) => item.error && !settled.has(item.delivery)));
    } catch (error) {
      // Unexpected (a bug): leave nothing unsettled. A nak retries; the last attempt is handled above.
      logger.error({ batchSize: batch.length, ...errorFields(error) }, 'scoring batch failed unexpectedly: naking its unsettled deliveries');
    } finally {
      clearInterval(keepAlive);
    }
    for (const delivery of batch) {
      if (!settled.has(delivery)) {
        settled.add(delivery);
        delivery.nak();
        counts.naked++;
      }
    }

    report(batch.length, counts, now() - startedAt);

    /**
     * Stores the outcomes of `group` with one recordOutcomes call and acks its records. A record
     * whose judge could not be reached keeps the outcomes it has (so they are not asked for again)
     * and is left with its error, for retryOrGiveUp. Never throws.
     */
    async function storeAndAck(group: readonly Item[]): Promise<void> {
      const ready = group.filter((item) => !item.error && !settled.has(item.delivery));
      const partial = group.filter((item) => item.error && item.judgePending && item.outcomes.length > 0 && !settled.has(item.delivery));
      if (ready.length + partial.length === 0) return;
      try {
        await deps.recordOutcomes([...ready, ...partial].flatMap((item) => item.outcomes));
        for (const item of ready) ack(item);
      } catch (error) {
        if (ready.length + partial.length > 1 && isDeterministic(error)) {
          // A rejection that the same outcomes would meet again: find the delivery it comes from
          // instead of failing the whole group on every redelivery.
          logger.warn({ batchSize: ready.length, ...errorFields(error) }, 'recording the batch was rejected: recording its records one by one');
          for (const item of [...ready, ...partial]) {
            try {
              await deps.recordOutcomes(item.outcomes);
              if (!item.error) ack(item);
            } catch (itemError) {
              item.error = itemError;
            }
          }
        } else {
          for (const item of ready) item.error = error;
        }
      }
    }

    /**
     * Makes the batch's judge calls together (the governor bounds them) and stores records as
     * their calls are answered, at most every STORE_EVERY_MS, instead of all at the slowest call:
     * scores show up as they come, and one call waiting out a Retry-After holds only its record.
     * Records with nothing to judge are stored as soon as the calls are under way.
     */
    async function judgeAndStore(tasks: readonly JudgeTask[]): Promise<void> {
      const callsLeft = new Map<Item, number>();
      for (const task of tasks) callsLeft.set(task.item, (callsLeft.get(task.item) ?? 0) + 1);
      let group: Item[] = items.filter((item) => !callsLeft.has(item));
      let stored = Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const storeGroup = () => {
        clearTimeout(timer);
        timer = undefined;
        const next = group;
        group = [];
        if (next.length > 0) stored = stored.then(() => storeAndAck(next));
      };
      const whenAnswered = (item: Item) => {
        const left = callsLeft.get(item)! - 1;
        callsLeft.set(item, left);
        if (left > 0) return;
        group.push(item);
        timer ??= setTimeout(storeGroup, STORE_EVERY_MS);
      };
      const pending = { count: 0, first: undefined as unknown };
      try {
        const calls = await judgeEach(deps.judge!, tasks.map((task) => task.request));
        storeGroup(); // records with nothing to judge need not wait for the first answer
        await Promise.all(
          calls.map((call, i) =>
            call.then(
              (judged) => fileJudged(tasks[i], { status: 'fulfilled', value: judged }, pending),
              (reason: unknown) => fileJudged(tasks[i], { status: 'rejected', reason }, pending),
            ).then(() => whenAnswered(tasks[i].item)),
          ),
        );
      } finally {
        storeGroup();
        await stored;
      }
      if (pending.count > 0) {
        logger.warn({ pending: pending.count, calls: tasks.length, ...errorFields(pending.first) }, 'judge calls failed for now (provider unreachable or rate limited): their records are retried later');
      }
    }

    async function retryOrGiveUp(failed: Item[]): Promise<void> {
      if (failed.length === 0) return;
      const last = failed.filter((item) => isLastDelivery(item.delivery));
      const retried = failed.filter((item) => !isLastDelivery(item.delivery));
      for (const item of retried) nak(item);
      if (retried.length > 0) {
        logger.warn(
          { naked: retried.length, recordIds: retried.slice(0, IDS_LOGGED).map((item) => item.ids?.recordId), ...errorFields(retried[0].error) },
          'scoring could not record outcomes: naked for redelivery',
        );
      }
      if (last.length === 0) return;

      // Last attempt: a MAX_DELIVERIES_EXCEEDED failure for each metric, then term.
      const giveUps: { item: Item; failures: ScoringOutcome[]; reason: string }[] = [];
      for (const item of last) {
        const reason =
          `Scoring gave up after ${item.delivery.deliveryCount} attempt(s); last error: ${errorMessage(item.error)} ` +
          'Check the scoring service and the database, then score the record again.';
        // HUMAN metrics are a person's to score: the worker fails none of them.
        const automatic = (plan: RunPlan) => applicable(item, plan).map((p) => ({ metric: p.metric, round: roundOf(plan, p.metric) }));
        let metrics: readonly { metric: MetricSnapshot; round: number }[] | undefined = item.plan ? automatic(item.plan) : undefined;
        if (!metrics) {
          try {
            metrics = automatic(await planOf(item.ids!.runId));
          } catch (error) {
            logger.error(
              { runId: item.ids!.runId, recordId: item.ids!.recordId, eventId: item.delivery.event.eventId, ...errorFields(error) },
              'last delivery of a record, and its run cannot be read to record the failure: naking it; the record stays unscored',
            );
            nak(item);
            continue;
          }
        }
        const { runId, recordId } = item.ids!;
        const attempts = Math.max(1, item.delivery.deliveryCount);
        giveUps.push({
          item,
          reason,
          failures: metrics.map(({ metric, round }) => ({
            kind: 'failure',
            runId,
            recordId,
            metric,
            code: ScoringFailureCode.MAX_DELIVERIES_EXCEEDED,
            reason,
            attempts,
            ...(round ? { round } : {}),
          })),
        });
      }
      if (giveUps.length === 0) return;
      try {
        await deps.recordOutcomes(giveUps.flatMap((giveUp) => giveUp.failures));
      } catch (error) {
        logger.error(
          { count: giveUps.length, recordIds: giveUps.slice(0, IDS_LOGGED).map((g) => g.item.ids!.recordId), ...errorFields(error) },
          'last delivery, and its failure could not be recorded either: naking; these records stay unscored',
        );
        for (const { item } of giveUps) nak(item);
        return;
      }
      for (const { item, failures, reason } of giveUps) {
        term(item, reason);
        counts.failures += failures.length;
      }
      logger.warn(
        { termed: giveUps.length, recordIds: giveUps.slice(0, IDS_LOGGED).map((g) => g.item.ids!.recordId), ...errorFields(giveUps[0].item.error) },
        'scoring gave up on records at their last delivery: MAX_DELIVERIES_EXCEEDED recorded',
      );
    }
  };

  function readPayload(item: Item): void {
    const { event } = item.delivery;
    const data = event.data as Partial<Record<'runId' | 'recordId', unknown>> | null;
    if (data && typeof data === 'object' && typeof data.runId === 'string' && typeof data.recordId === 'string') {
      item.ids = { runId: data.runId, recordId: data.recordId };
    }
    try {
      const parsed = parseEvent(event.type, event.schemaVersion, event.data);
      if (parsed.type === 'RecordRescoreRequested') {
        const { round, metricIds, bypassCache, ...record } = parsed.data;
        item.record = record;
        item.rescore = { round, metricIds: new Set(metricIds), bypassCache };
      } else {
        item.record = parsed.data as RecordAddedData;
      }
    } catch (error) {
      if (isAssayError(error) && error.code === 'EVENT_PAYLOAD_INVALID') {
        item.payloadProblem = {
          code: ScoringFailureCode.EVENT_PAYLOAD_INVALID,
          reason: `${errorMessage(error)} The record cannot be scored; add it again with a valid payload.`,
        };
      } else {
        // E.g. a schema version this service does not know yet: a newer worker may read it.
        item.error = error;
      }
    }
  }

  /** The metrics a delivery asks for: every automatic metric of the run, or those a re-score names. */
  function applicable(item: Item, plan: RunPlan): MetricPlan[] {
    // HUMAN metrics are a person's to score: no outcome from the worker (the run stays SCORING).
    return plan.plans.filter((p) => p.kind !== 'human' && (!item.rescore || item.rescore.metricIds.has(p.metric.metricId)));
  }

  /** The round a metric's outcomes carry now: the run's current one (a stale re-score request scores into it too). */
  function roundOf(plan: RunPlan, metric: MetricSnapshot): number {
    return plan.rounds?.get(metric.metricId) ?? 0;
  }

  async function outcomesOf(item: Item, plan: RunPlan, judgeTasks: JudgeTask[]): Promise<ScoringOutcome[]> {
    const { runId, recordId } = item.ids!;
    const attempts = Math.max(1, item.delivery.deliveryCount);
    const outcomes: ScoringOutcome[] = [];
    for (const metricPlan of applicable(item, plan)) {
      const { metric } = metricPlan;
      const round = roundOf(plan, metric);
      const failure = (code: string, reason: string): ScoringOutcome => ({ kind: 'failure', runId, recordId, metric, code, reason, attempts, ...(round ? { round } : {}) });
      if (item.payloadProblem) {
        outcomes.push(failure(item.payloadProblem.code, item.payloadProblem.reason));
        continue;
      }
      if (metricPlan.kind === 'failure') {
        outcomes.push(failure(metricPlan.code, metricPlan.reason));
        continue;
      }
      if (metricPlan.kind === 'human') continue;
      if (metricPlan.kind === 'judge') {
        // Only the first delivery of a bypassing re-score skips the cache: a redelivery finds what it refreshed.
        const bypass = Boolean(item.rescore?.bypassCache) && item.delivery.deliveryCount <= 1;
        const built = judgeRequest(metric, metricPlan.judge, deps.judge!, item.record!, bypass);
        if (built.ok) judgeTasks.push({ item, plan: metricPlan, request: built.request });
        else outcomes.push(failure(ScoringFailureCode.TEMPLATE_RENDER_FAILED, built.reason));
        continue;
      }
      try {
        const { value, reasoning } = await metricPlan.scorer(item.record!);
        outcomes.push({ kind: 'score', runId, recordId, metric, value, reasoning, ...(round ? { round } : {}) });
      } catch (error) {
        if (error instanceof CodeScoringFailure) {
          // The metric's code failed on this record (timeout, memory, an exception, a bad result): recorded, not retried.
          outcomes.push(failure(error.code, `metric "${metric.name}" (v${metric.version}): ${error.message}`));
        } else if (isAssayError(error) && error.code === 'METRIC_CONFIG_INVALID') {
          outcomes.push(failure(ScoringFailureCode.METRIC_CONFIG_INVALID, `metric "${metric.name}" (v${metric.version}) cannot score: ${errorMessage(error)}`));
        } else if (isAssayError(error) && error.code === 'UNAVAILABLE') {
          throw error;
        } else {
          outcomes.push(
            failure(
              ScoringFailureCode.INTERNAL,
              `metric "${metric.name}" (v${metric.version}) crashed: ${errorMessage(error)} This is a bug in Assay; please report it with the metric's definition.`,
            ),
          );
        }
      }
    }
    return outcomes;
  }

  /**
   * Files one judge answer as the record's score, a final failure (malformed answers, a refused
   * request: ScoringFailed with the reason), or a pending one: the provider could not be reached
   * within the client's retries, so the delivery is retried later, unless this is its last
   * delivery, when the failure is recorded.
   */
  function fileJudged({ item, plan }: JudgeTask, result: PromiseSettledResult<Judged>, pending: { count: number; first: unknown }): void {
    const { metric } = plan;
    const { runId, recordId } = item.ids!;
    const round = roundOf(item.plan!, metric);
    const attempts = Math.max(1, item.delivery.deliveryCount);
    const inRound = round ? { round } : {};
    if (result.status === 'fulfilled') {
      const { value, reasoning, judge } = result.value;
      item.outcomes.push({ kind: 'score', runId, recordId, metric, value, reasoning, judge, ...inRound });
      return;
    }
    const failure = classifyJudgeError(result.reason, metric);
    if (failure.final) {
      item.outcomes.push({ kind: 'failure', runId, recordId, metric, code: failure.code, reason: failure.reason, attempts, ...inRound, ...(failure.judge ? { judge: failure.judge } : {}) });
    } else if (isLastDelivery(item.delivery)) {
      const reason =
        `metric "${metric.name}" (v${metric.version}): ${errorMessage(failure.error)} ` +
        `Gave up after ${item.delivery.deliveryCount} deliveries of the record, each with the LLM client's own retries. Once the provider answers again, re-score the run (rescoreRun).`;
      item.outcomes.push({ kind: 'failure', runId, recordId, metric, code: failure.code, reason, attempts, ...inRound });
    } else {
      pending.count++;
      pending.first ??= failure.error;
      item.judgePending = true;
      item.error ??= failure.error;
    }
  }

  function report(size: number, counts: Omit<Totals, 'batches' | 'deliveries'> & { ignored: number }, ms: number) {
    logger.debug({ size, ...counts, ms }, 'scoring batch done');
    totals.batches++;
    totals.deliveries += size;
    totals.scores += counts.scores;
    totals.failures += counts.failures;
    totals.acked += counts.acked;
    totals.naked += counts.naked;
    totals.termed += counts.termed;
    const at = now();
    if (at - lastTotalsAt >= totalsIntervalMs) {
      lastTotalsAt = at;
      logger.info({ ...totals, cachedRuns: cache.size }, 'scoring totals');
    }
  }
}

function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { err: { name: error.name, message: error.message, ...(code === undefined ? {} : { code }) } };
  }
  return { err: { message: String(error) } };
}

/** The bus will not deliver it again after a nak: record the failure now. */
function isLastDelivery(delivery: Delivery): boolean {
  return delivery.deliveryCount >= delivery.maxDeliver;
}
