/**
 * In-memory stand-ins for the runs service and the bus, for gateway tests only. They follow the
 * contracts of RunCommandsApi / RunQueriesApi / EventBus.broadcast closely enough to catch gateway
 * bugs (errors with stable codes, opaque cursors, newest-first runs, page-by-page streaming), and no
 * further: no events, no projections.
 */
import { topicMatches, type BroadcastHandler } from '@assay/bus';
import { AssayError, MAX_RECORDS_PER_CALL } from '@assay/contracts';
import { runStatus } from '@assay/domain';
import type {
  MetricVersionView,
  UpdateMetricInput,
  UpdateMetricOptions,
  CreateMetricInput,
  MetricAggregateView,
  MetricView,
  Page,
  PageRequest,
  ProjectView,
  RecordInput,
  RecordView,
  RunCommandsApi,
  RunQueriesApi,
  RunView,
  ScoreView,
} from '@assay/runs';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 50;

function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE) {
    throw new AssayError('BAD_USER_INPUT', `first must be an integer from 0 to ${MAX_PAGE}.`);
  }
  return first;
}

function cursorOf(index: number): string {
  return Buffer.from(JSON.stringify([index])).toString('base64url');
}

function indexOf(cursor: string | null | undefined): number {
  if (!cursor) return -1;
  try {
    const [index] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Number.isInteger(index)) return index;
  } catch {
    // fall through
  }
  throw new AssayError('BAD_USER_INPUT', `Cursor "${cursor}" is not valid: pass an endCursor from a previous page.`);
}

function paginate<T>(all: readonly T[], page: PageRequest): Page<T> {
  const limit = pageSize(page.first);
  const start = indexOf(page.after) + 1;
  const slice = all.slice(start, start + limit);
  const items = slice.map((node, i) => ({ node, cursor: cursorOf(start + i) }));
  return { items, endCursor: items.at(-1)?.cursor ?? null, hasNextPage: start + limit < all.length };
}

export class FakeRuns implements RunCommandsApi, RunQueriesApi {
  readonly projects = new Map<string, ProjectView>();
  readonly metrics = new Map<string, MetricView>();
  readonly metricVersions = new Map<string, MetricView[]>();
  readonly runs = new Map<string, Mutable<RunView>>();
  readonly records = new Map<string, Mutable<RecordView>[]>();
  private seq = 0;
  private clock = Date.UTC(2025, 0, 1);
  /** Called with every RunView change, as the projector would broadcast it. */
  onRunChanged: (view: RunView) => void = () => undefined;
  /** Test hook: awaited by getAggregates (lets a test hold a subscription push mid-flight). */
  aggregatesGate: () => Promise<void> = async () => undefined;
  /** Test hook: how many records streamRecords has handed out. */
  streamed = 0;

  private id(prefix: string): string {
    return `${prefix}_${(++this.seq).toString().padStart(4, '0')}`;
  }

  private now(): Date {
    this.clock += 1000;
    return new Date(this.clock);
  }

  private requireRun(runId: string): Mutable<RunView> {
    const run = this.runs.get(runId);
    if (!run) throw new AssayError('RUN_NOT_FOUND', `Run "${runId}" does not exist: check the run id.`, { runId });
    return run;
  }

  private touch(run: Mutable<RunView>): void {
    const at = this.now();
    run.streamVersion += 1;
    run.revision += 1;
    run.updatedAt = at;
    run.lastEventAt = at;
    run.status = runStatus({ numRecords: run.numRecords, numMetrics: run.metrics.length, numScores: run.numScores, numFailures: run.numFailures });
    this.onRunChanged(this.snapshot(run));
  }

  private snapshot(run: RunView): RunView {
    return { ...run, metrics: run.metrics.map((m) => ({ ...m })) };
  }

  // ---- commands ----

  async createProject(input: { name: string }): Promise<ProjectView> {
    if (!input.name.trim()) throw new AssayError('BAD_USER_INPUT', 'Project name must not be empty.');
    const project = { id: this.id('prj'), name: input.name, createdAt: this.now() };
    this.projects.set(project.id, project);
    return project;
  }

  async createMetric(input: CreateMetricInput): Promise<MetricView> {
    if (!this.projects.has(input.projectId)) throw new AssayError('PROJECT_NOT_FOUND', `Project "${input.projectId}" does not exist.`);
    if (input.evalType === 'HEURISTIC' && !input.heuristic) {
      throw new AssayError('METRIC_CONFIG_INVALID', 'A HEURISTIC metric needs a heuristic: pass heuristic {kind, ...}.');
    }
    const metric: MetricView = {
      id: this.id('met'),
      projectId: input.projectId,
      name: input.name,
      version: 1,
      evalType: input.evalType,
      outputType: input.outputType,
      heuristic: input.heuristic ?? null,
      passingThreshold: input.passingThreshold ?? (input.outputType === 'INT' ? 3 : input.outputType === 'FLOAT' ? 0.5 : 1),
      description: input.description ?? '',
      guidelines: input.guidelines ?? '',
      promptTemplate: input.promptTemplate ?? null,
      evalModelName: input.evalModelName ?? null,
      temperature: input.temperature ?? null,
      createdAt: this.now(),
      updatedAt: this.now(),
    };
    this.metrics.set(metric.id, metric);
    this.metricVersions.set(metric.id, [metric]);
    return metric;
  }

  /** Every change makes a version (no checks: the decider's are tested in @assay/domain). */
  async updateMetric(input: UpdateMetricInput, options: UpdateMetricOptions = {}): Promise<MetricView> {
    const current = this.metrics.get(input.metricId);
    options.authorize?.(current?.projectId ?? null);
    if (!current) throw new AssayError('METRIC_NOT_FOUND', `Metric "${input.metricId}" does not exist.`);
    const { metricId: _id, ...changes } = input;
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    const next: MetricView = { ...current, ...defined, version: current.version + 1, updatedAt: this.now() };
    this.metrics.set(next.id, next);
    this.metricVersions.get(next.id)!.push(next);
    return next;
  }

  async createRun(input: { projectId: string; metricIds: readonly string[]; notes?: string | null }): Promise<RunView> {
    if (!this.projects.has(input.projectId)) throw new AssayError('PROJECT_NOT_FOUND', `Project "${input.projectId}" does not exist.`);
    const metrics = input.metricIds.map((id) => {
      const m = this.metrics.get(id);
      if (!m) throw new AssayError('METRIC_NOT_FOUND', `Metric "${id}" does not exist.`);
      return { id: m.id, name: m.name, version: m.version, evalType: m.evalType, outputType: m.outputType, passingThreshold: m.passingThreshold };
    });
    const at = this.now();
    const run: Mutable<RunView> = {
      id: this.id('run'),
      projectId: input.projectId,
      status: 'PENDING',
      numRecords: 0,
      numScores: 0,
      numFailures: 0,
      notes: input.notes ?? '',
      createdAt: at,
      updatedAt: at,
      lastEventAt: at,
      metrics,
      streamVersion: 1,
      revision: 1,
    };
    this.runs.set(run.id, run);
    this.records.set(run.id, []);
    return this.snapshot(run);
  }

  async addRecords(runId: string, inputs: readonly RecordInput[]): Promise<RecordView[]> {
    const run = this.requireRun(runId);
    if (inputs.length > MAX_RECORDS_PER_CALL) {
      throw new AssayError('TOO_MANY_RECORDS', `At most ${MAX_RECORDS_PER_CALL} records per call.`);
    }
    const list = this.records.get(runId)!;
    const added = inputs.map((input) => {
      const record: Mutable<RecordView> = {
        id: this.id('rec'),
        runId,
        testcaseId: input.testcaseId ?? null,
        inputs: input.inputs ?? null,
        outputs: input.outputs ?? null,
        expected: input.expected ?? null,
        scores: [],
        createdAt: this.now(),
      };
      list.push(record);
      return record;
    });
    run.numRecords += added.length;
    this.touch(run);
    return added.map((r) => ({ ...r }));
  }

  async updateRunNotes(runId: string, notes: string): Promise<RunView> {
    const run = this.requireRun(runId);
    run.notes = notes;
    this.touch(run);
    return this.snapshot(run);
  }

  /** Test helper: what the scoring worker would record. */
  score(runId: string, recordId: string, score: Omit<ScoreView, 'metricVersion'> & { metricVersion?: number }): RunView {
    const run = this.requireRun(runId);
    const record = this.records.get(runId)!.find((r) => r.id === recordId);
    if (!record) throw new Error(`no record ${recordId}`);
    const metric = run.metrics.find((m) => m.id === score.metricId)!;
    record.scores = [...record.scores, { metricVersion: metric.version, ...score }];
    if (score.error) run.numFailures += 1;
    else run.numScores += 1;
    this.touch(run);
    return this.snapshot(run);
  }

  // ---- queries ----

  async getProject(id: string): Promise<ProjectView | null> {
    if (id === 'boom') throw new Error('connection to 10.0.0.7:5432 refused (password=hunter2)');
    return this.projects.get(id) ?? null;
  }

  async getMetric(id: string): Promise<MetricView | null> {
    return this.metrics.get(id) ?? null;
  }

  async listMetrics(projectId: string): Promise<MetricView[]> {
    return [...this.metrics.values()].filter((m) => m.projectId === projectId).sort((a, b) => a.name.localeCompare(b.name));
  }

  async listMetricVersions(metricId: string): Promise<MetricVersionView[]> {
    return (this.metricVersions.get(metricId) ?? []).map((m) => this.versionView(m));
  }

  async getRunMetricVersions(runId: string): Promise<MetricVersionView[]> {
    const run = this.runs.get(runId);
    if (!run) return [];
    return run.metrics.map((pinned) => this.versionView(this.metricVersions.get(pinned.id)!.find((m) => m.version === pinned.version)!));
  }

  private versionView(m: MetricView): MetricVersionView {
    const { id, projectId: _p, updatedAt, createdAt: _c, ...definition } = m;
    return { metricId: id, ...definition, createdAt: updatedAt };
  }

  async getRun(id: string): Promise<RunView | null> {
    const run = this.runs.get(id);
    return run ? this.snapshot(run) : null;
  }

  async getRuns(ids: readonly string[]): Promise<RunView[]> {
    return ids.flatMap((id) => {
      const run = this.runs.get(id);
      return run ? [this.snapshot(run)] : [];
    });
  }

  async listRuns(projectId: string, page: PageRequest): Promise<Page<RunView>> {
    const runs = [...this.runs.values()]
      .filter((r) => r.projectId === projectId)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .map((r) => this.snapshot(r));
    return paginate(runs, page);
  }

  async getAggregates(runId: string): Promise<MetricAggregateView[]> {
    await this.aggregatesGate();
    const run = this.runs.get(runId);
    if (!run) return [];
    const records = this.records.get(runId) ?? [];
    return run.metrics.map((m) => {
      const scores = records.flatMap((r) => r.scores.filter((s) => s.metricId === m.id && !s.error));
      const passed = scores.filter((s) => s.passed).length;
      const values = scores.map((s) => s.value ?? 0);
      return {
        metricId: m.id,
        count: scores.length,
        passed,
        failed: scores.length - passed,
        passRate: scores.length ? passed / scores.length : null,
        mean: scores.length ? values.reduce((a, b) => a + b, 0) / scores.length : null,
      };
    });
  }

  async listRecords(runId: string, page: PageRequest): Promise<Page<RecordView>> {
    return paginate(
      (this.records.get(runId) ?? []).map((r) => ({ ...r })),
      page,
    );
  }

  async *streamRecords(runId: string, pageSizeHint = 500): AsyncIterable<RecordView> {
    let after: string | null = null;
    for (;;) {
      const page: Page<RecordView> = await this.listRecords(runId, { first: pageSizeHint, after });
      for (const item of page.items) {
        this.streamed += 1;
        yield item.node;
      }
      if (!page.hasNextPage) return;
      after = page.endCursor;
    }
  }
}

/**
 * A bus that only does broadcast, with the EventBus topic rules (a subscription to 'run-updated'
 * receives 'run-updated.<runId>'). Payloads cross it as JSON text, as they cross NATS.
 */
export class FakeBus {
  private readonly handlers = new Set<{ pattern: string; handler: BroadcastHandler }>();

  onBroadcast(pattern: string, handler: BroadcastHandler): () => void {
    const entry = { pattern, handler };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }

  broadcast(topic: string, payload: unknown): void {
    const wire = JSON.stringify(payload ?? null);
    for (const { pattern, handler } of [...this.handlers]) {
      if (topicMatches(pattern, topic)) handler(JSON.parse(wire), topic);
    }
  }

  handlerCount(): number {
    return this.handlers.size;
  }
}

/** Collects log lines so tests can assert on them (and keep test output quiet). */
export class MemoryLogger {
  readonly lines: { level: string; obj: object; msg?: string }[] = [];
  debug(obj: object, msg?: string): void {
    this.lines.push({ level: 'debug', obj, msg });
  }
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
}
