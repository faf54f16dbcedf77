import type { EventBus } from '@assay/bus';
import { RUN_UPDATED_TOPIC, type RunView } from '@assay/runs';
import type { GatewayLogger } from './logger';

/**
 * Live run updates for WebSocket subscribers.
 *
 * One bus subscription per process (every gateway replica receives every broadcast) fans out to
 * an in-memory set of subscribers per run id. Each subscriber holds at most one pending view: when
 * several updates arrive while the client has not taken the previous one yet (slow socket), only
 * the newest is kept. Views are ordered by their revision (how many events of the log they reflect;
 * counts are no order: a re-score sets them back to zero, a failed execution changes none): a view
 * is pushed only if its revision is higher than the one last pushed (or pending), so a client never
 * sees a run go backwards, whatever order broadcasts and the initial snapshot arrive in.
 */

/** Parses a broadcast payload (a RunView as JSON: a string or an already parsed object) into a RunView with Dates. */
export function reviveRunView(payload: unknown): RunView | null {
  let value: unknown = payload;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.streamVersion !== 'number' || typeof v.revision !== 'number') return null;
  const createdAt = toDate(v.createdAt);
  const lastEventAt = toDate(v.lastEventAt);
  if (!createdAt || !lastEventAt) return null;
  const updatedAt = toDate(v.updatedAt) ?? lastEventAt;
  return { ...(v as unknown as RunView), createdAt, lastEventAt, updatedAt } as RunView;
}

function toDate(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** True when `next` is a later state of the run than `prev`: its revision (events of the log it reflects) is higher. */
export function isNewer(next: Pick<RunView, 'revision'>, prev: Pick<RunView, 'revision'> | null): boolean {
  return !prev || next.revision > prev.revision;
}

/** One subscriber's view of the stream: an async iterator with a single coalescing slot. */
export class RunUpdateStream implements AsyncIterableIterator<RunView> {
  private pending: RunView | null = null;
  /** The newest view pushed or pending: the bar every later view must clear. */
  private newest: RunView | null = null;
  private waiter: ((result: IteratorResult<RunView>) => void) | null = null;
  private closed = false;

  constructor(
    readonly runId: string,
    private readonly onClose: (stream: RunUpdateStream) => void,
  ) {}

  /** Offers a view; kept only if it is newer than everything this subscriber has seen. */
  offer(view: RunView): void {
    if (this.closed || !isNewer(view, this.newest)) return;
    this.newest = view;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve({ value: view, done: false });
    } else {
      this.pending = view; // replaces an older pending view: coalescing
    }
  }

  next(): Promise<IteratorResult<RunView>> {
    if (this.pending) {
      const value = this.pending;
      this.pending = null;
      return Promise.resolve({ value, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<RunView>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<RunView>> {
    this.close();
    return Promise.reject(error);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.({ value: undefined, done: true });
    this.onClose(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export interface RunUpdatesHubOptions {
  /** The current views of these runs (unknown ids left out): what the resync offers. */
  readonly readRuns?: (runIds: readonly string[]) => Promise<readonly RunView[]>;
  /** How often the runs with subscribers are read again (default 5 s; 0: never). */
  readonly resyncEveryMs?: number;
}

/**
 * Broadcasts are fire-and-forget (core NATS between processes): one sent while this gateway was
 * disconnected from NATS, or one the projector never sent (its COMMIT answered, the answer lost),
 * would leave a subscriber at an old status for good. So the hub also reads the runs it has
 * subscribers for every few seconds and offers what it reads: an unchanged view is not newer and
 * pushes nothing; a missed change arrives at most `resyncEveryMs` late. One query per round.
 */
const DEFAULT_RESYNC_EVERY_MS = 5_000;

export class RunUpdatesHub {
  private readonly subscribers = new Map<string, Set<RunUpdateStream>>();
  private unsubscribe: (() => void) | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private resyncing = false;

  constructor(
    private readonly bus: Pick<EventBus, 'onBroadcast'>,
    private readonly logger: GatewayLogger,
    private readonly options: RunUpdatesHubOptions = {},
  ) {}

  /** Subscribes to the bus once for this process, and starts the resync. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.bus.onBroadcast(RUN_UPDATED_TOPIC, (payload) => this.dispatch(payload));
    const every = this.options.resyncEveryMs ?? DEFAULT_RESYNC_EVERY_MS;
    if (this.options.readRuns && every > 0) {
      this.resyncTimer = setInterval(() => void this.resync(), every);
      this.resyncTimer.unref?.();
    }
  }

  /** Reads every run with subscribers and offers its view (see RunUpdatesHubOptions). Never throws. */
  async resync(): Promise<void> {
    if (this.resyncing || !this.options.readRuns || this.subscribers.size === 0) return;
    this.resyncing = true;
    try {
      for (const view of await this.options.readRuns([...this.subscribers.keys()])) this.offer(view);
    } catch (error) {
      this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'run update resync failed; retrying next round');
    } finally {
      this.resyncing = false;
    }
  }

  /**
   * Drops the bus subscription. Open streams are left alone on purpose: completing them would tell
   * clients the subscription ended normally, whereas a replica going away should make them
   * reconnect (to another replica). Closing the WebSocket server ends them as an error.
   */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = null;
  }

  /** A new subscriber stream for the run; register before reading the snapshot so nothing falls in between. */
  open(runId: string): RunUpdateStream {
    const stream = new RunUpdateStream(runId, (s) => this.remove(s));
    let set = this.subscribers.get(runId);
    if (!set) {
      set = new Set();
      this.subscribers.set(runId, set);
    }
    set.add(stream);
    return stream;
  }

  /** Number of open subscriber streams (all runs). */
  get size(): number {
    let n = 0;
    for (const set of this.subscribers.values()) n += set.size;
    return n;
  }

  private remove(stream: RunUpdateStream): void {
    const set = this.subscribers.get(stream.runId);
    if (!set) return;
    set.delete(stream);
    if (set.size === 0) this.subscribers.delete(stream.runId);
  }

  private offer(view: RunView): void {
    const set = this.subscribers.get(view.id);
    if (!set) return;
    for (const stream of set) stream.offer(view);
  }

  private dispatch(payload: unknown): void {
    try {
      const view = reviveRunView(payload);
      if (!view) {
        this.logger.warn({ topic: RUN_UPDATED_TOPIC }, 'ignored a malformed run update broadcast');
        return;
      }
      this.offer(view);
    } catch (error) {
      // A handler must never throw into the bus.
      this.logger.error({ error: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) }, 'run update dispatch failed');
    }
  }
}
