import type { BatchHandler, Delivery } from '@assay/bus';
import { isAssayError, parseEvent, DEFAULT_MAX_RECORD_BYTES, EventData } from '@assay/contracts';
import {
  canonicalJson,
  CompiledPromptSystem,
  compilePromptSystem,
  executionEventId,
  executionOutputs,
  executionRecordId,
  executionsStreamId,
  executionStreamId,
  KickoffTestcase,
  TemplateRenderError,
} from '@assay/domain';
import type { PostgresEventStore } from '@assay/event-store';
import pLimit from 'p-limit';
import { ExecutionOutcome, OutcomeWriter } from './outcome-writer';
import { callSystem, ChatClient, errorMessage, ExecutionLogger, FailureCode, isTransient } from './system-call';

export interface ExecutionHandlerDeps {
  readonly store: PostgresEventStore;
  /** The model calls (LlmClient: through the shared governor). A function: connected on first use. */
  readonly llm: ChatClient | (() => Promise<ChatClient>);
  readonly logger: ExecutionLogger;
  /** Model calls this process starts at once (they then queue for the governor). Default 256. */
  readonly concurrency?: number;
  /** While a batch runs, `working()` is sent this often. Default 10 s. */
  readonly workingIntervalMs?: number;
  /** Largest record (inputs, outputs, expected as JSON). Default ASSAY_MAX_RECORD_BYTES or 900 KiB. */
  readonly maxRecordBytes?: number;
  /** Outcomes per append, and how long one waits for company. */
  readonly writer?: { maxBatch?: number; lingerMs?: number };
  /** Aborted at shutdown: model calls in flight or backing off stop, and their batches are nak'ed (redelivered). */
  readonly signal?: AbortSignal;
}

interface RunPlan {
  readonly runId: string;
  readonly system: CompiledPromptSystem | { readonly error: string };
}

interface Execution {
  readonly testcase: KickoffTestcase;
  readonly trial: number;
  readonly recordId: string;
}

/**
 * The execution worker, as a bus batch handler for ExecutionsScheduled. Per delivery (a batch of
 * testcases × trials of one run): executions that already have an outcome are skipped (a
 * redelivery), the others render the system's messages over the testcase's inputs and call the
 * model through the LLM client (its governor bounds calls across every process, and it retries
 * 429/5xx/timeouts itself); each answer becomes a RecordAdded on the execution's own stream,
 * written in shared multi-stream appends. Then:
 * - every execution has its outcome: ack;
 * - some failed for a reason that may pass (provider down, timing out, rate limited, database
 *   unavailable) and this is not the last delivery: nak, and the redelivery runs only those;
 * - on the last delivery they are recorded as ExecutionFailed with the client's reason, then ack.
 * Failures no retry can fix (a 4xx, a template that cannot render these inputs, a record too
 * large) are recorded at once.
 */
export function createExecutionHandler(deps: ExecutionHandlerDeps): BatchHandler {
  const { store, logger } = deps;
  const limit = pLimit(deps.concurrency ?? 256);
  const writer = new OutcomeWriter(store, deps.writer);
  const workingIntervalMs = deps.workingIntervalMs ?? 10_000;
  const maxRecordBytes = deps.maxRecordBytes ?? maxRecordBytesFromEnv();
  const plans = new Map<string, Promise<RunPlan>>();
  const systems = new Map<string, CompiledPromptSystem | { error: string }>();
  let llm: Promise<ChatClient> | undefined;
  const chatClient = () => {
    if (!llm) {
      llm = typeof deps.llm === 'function' ? deps.llm() : Promise.resolve(deps.llm);
      llm.catch(() => (llm = undefined));
    }
    return llm;
  };

  /** The run's system, compiled once per config (a system version's config never changes). */
  function planOf(runId: string): Promise<RunPlan> {
    let plan = plans.get(runId);
    if (!plan) {
      plan = store.readStream(executionsStreamId(runId), { after: 0 }).then((events) => {
        const planned = events.find((event) => event.type === 'ExecutionsPlanned');
        if (!planned) throw Object.assign(new Error(`Run ${runId} has no ExecutionsPlanned event (not visible yet?)`), { code: 'UNAVAILABLE' });
        const config = (planned.data as EventData<'ExecutionsPlanned'>).config;
        const hash = canonicalJson(config);
        let system = systems.get(hash);
        if (!system) {
          try {
            system = compilePromptSystem(config);
          } catch (error) {
            system = { error: errorMessage(error) };
          }
          systems.set(hash, system);
          if (systems.size > 1_000) systems.delete(systems.keys().next().value as string);
        }
        return { runId, system };
      });
      plans.set(runId, plan);
      if (plans.size > 1_000) plans.delete(plans.keys().next().value as string);
      plan.catch(() => plans.delete(runId));
    }
    return plan;
  }

  return async function handleExecutionsScheduled(batch) {
    await Promise.all(batch.map((delivery) => handleDelivery(delivery)));
  };

  async function handleDelivery(delivery: Delivery): Promise<void> {
    let scheduled: EventData<'ExecutionsScheduled'>;
    try {
      scheduled = parseEvent(delivery.event.type, delivery.event.schemaVersion, delivery.event.data).data as EventData<'ExecutionsScheduled'>;
    } catch (error) {
      logger.error({ eventId: delivery.event.eventId, type: delivery.event.type, err: errorMessage(error) }, 'execution worker cannot read this event: terminating it');
      delivery.term(errorMessage(error));
      return;
    }
    const { runId } = scheduled;
    const heartbeat = setInterval(() => delivery.working(), workingIntervalMs);
    try {
      const plan = await planOf(runId);
      const executions: Execution[] = scheduled.testcases.flatMap((testcase) =>
        Array.from({ length: scheduled.trials }, (_, trial) => ({ testcase, trial, recordId: executionRecordId(runId, testcase.key, trial) })),
      );
      const stored = await store.readStreams(executions.map((execution) => executionStreamId(execution.recordId)));
      const pending = executions.filter((execution) => (stored.get(executionStreamId(execution.recordId)) ?? []).length === 0);
      // The bus's max_deliver (the server's, on JetStream): after this delivery a nak is not redelivered.
      const last = delivery.deliveryCount >= delivery.maxDeliver;
      const results = await Promise.all(pending.map((execution) => limit(() => execute(plan, execution, delivery.deliveryCount, last))));
      const retry = results.filter((result) => result === 'retry').length;
      if (retry > 0) {
        logger.warn({ runId, batch: scheduled.batch, retry, done: pending.length - retry, deliveryCount: delivery.deliveryCount }, 'executions failed for now: redelivering the batch for them');
        delivery.nak();
      } else {
        delivery.ack();
      }
      logger.debug({ runId, batch: scheduled.batch, executions: executions.length, skipped: executions.length - pending.length, retry }, 'execution batch done');
    } catch (error) {
      // The database or the plan could not be read: the whole batch comes again (done ones are skipped).
      logger.warn({ runId, batch: scheduled.batch, deliveryCount: delivery.deliveryCount, err: errorMessage(error) }, 'execution batch failed: naking it');
      delivery.nak();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** 'done': its outcome is stored (now or before); 'retry': try again on the next delivery. */
  async function execute(plan: RunPlan, execution: Execution, deliveryCount: number, last: boolean): Promise<'done' | 'retry'> {
    const { runId } = plan;
    const { testcase, trial, recordId } = execution;
    const fail = (code: string, reason: string, attempts: number): ExecutionOutcome => ({
      recordId,
      eventId: executionEventId(recordId, 'failure'),
      event: { type: 'ExecutionFailed', data: { runId, recordId, testcaseId: testcase.testcaseId, trial, code, reason, attempts: Math.max(1, attempts) } },
    });
    let outcome: ExecutionOutcome;
    if ('error' in plan.system) {
      outcome = fail('SYSTEM_CONFIG_INVALID', `The run's system config cannot run: ${plan.system.error} Fix it in a new system version and start a new run.`, 1);
    } else {
      const result = await callSystem(await chatClient(), plan.system, testcase.inputs, deps.signal);
      if (deps.signal?.aborted) return 'retry';
      if (result.ok) {
        const outputs = executionOutputs(result.content);
        const bytes = Buffer.byteLength(JSON.stringify({ inputs: testcase.inputs, outputs, expected: testcase.expected }));
        outcome =
          bytes > maxRecordBytes
            ? fail(
                'RECORD_TOO_LARGE',
                `The record would be ${bytes} bytes (inputs, the model's answer and expected); a record holds at most ${maxRecordBytes}. Lower maxTokens in the system config, or raise ASSAY_MAX_RECORD_BYTES together with the NATS server's max_payload.`,
                result.attempts,
              )
            : {
                recordId,
                eventId: executionEventId(recordId, 'record'),
                event: {
                  type: 'RecordAdded',
                  data: { runId, recordId, testcaseId: testcase.testcaseId, inputs: testcase.inputs ?? null, outputs, expected: testcase.expected ?? null, trial, execution: result.execution },
                },
              };
      } else if (result.error instanceof TemplateRenderError) {
        outcome = fail(
          FailureCode.TEMPLATE_RENDER_FAILED,
          `The system's messages cannot be rendered over this testcase's inputs: ${result.error.message}. Fix the testcase's inputs or the system's templates (guard optional fields with {% if %}), then run again.`,
          1,
        );
      } else if (isTransient(result.error) && !last) {
        return 'retry';
      } else {
        const code = isAssayError(result.error) ? result.error.code : FailureCode.EXECUTION_ERROR;
        const attempts = isAssayError(result.error) && typeof result.error.details.attempts === 'number' ? result.error.details.attempts : 1;
        const after = isTransient(result.error) ? ` Gave up after ${deliveryCount} deliveries of the execution.` : '';
        outcome = fail(code, `${errorMessage(result.error)}${after}`, attempts);
      }
    }
    try {
      await writer.write(outcome);
      return 'done';
    } catch (error) {
      logger.warn({ runId, recordId, err: errorMessage(error) }, 'could not store an execution outcome: retried with the batch');
      return 'retry';
    }
  }
}

function maxRecordBytesFromEnv(): number {
  const raw = Number(process.env.ASSAY_MAX_RECORD_BYTES);
  return Number.isInteger(raw) && raw > 0 ? raw : DEFAULT_MAX_RECORD_BYTES;
}
