import type { Sql } from '@assay/database';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** What the governor needs from the database: SQL and LISTEN (`Database` has both). */
export interface GovernorDatabase extends Sql {
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
}

export interface GovernorLimits {
  readonly maxConcurrency: number;
  readonly rpm: number | null;
  readonly tpm: number | null;
}

/** A slot held by one attempt. Give it back with `release` exactly once. */
export interface Lease {
  readonly governorKey: string;
  readonly slot: number;
  readonly holder: string;
  /** Tokens charged to the TPM bucket at acquire (corrected on release). */
  readonly estimatedTokens: number;
  /** `Date.now()` when the slot was granted. */
  readonly grantedAt: number;
}

export interface ReleaseOptions {
  /** Tokens the call really used (prompt + completion); the difference to the estimate is settled. Default 0: nothing used. */
  readonly usedTokens?: number;
  /** Pause the whole provider for this long (a Retry-After), for every process. */
  readonly pauseMs?: number;
}

export const RELEASE_CHANNEL = 'assay_llm_released';

/** Most waiters granted by one acquire statement. */
const MAX_BATCH = 64;
/** When every slot is taken: look again after this long even without a NOTIFY (expired leases, lost notifications). */
const POLL_MIN_MS = 200;
const POLL_MAX_MS = 400;
const DB_RETRY_DELAYS_MS = [100, 300, 1_000];
/** How often a process with callers and no free slot renews its "waiting" mark (it lasts 2 s). */
const SAY_WAITING_EVERY_MS = 1_000;

interface Waiter {
  readonly holder: string;
  readonly tokens: number;
  readonly leaseMs: number;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (error: unknown) => void;
  readonly signal?: AbortSignal;
  readonly onAbort?: () => void;
  settled: boolean;
}

/**
 * The slots, buckets and pause of every provider, shared by every process through PostgreSQL
 * (see llm-migrations.ts for the tables and the choice of token buckets).
 *
 * Per process and governor key, callers queue locally (FIFO) and one loop acquires on their
 * behalf: one statement grants as many slots as are free to as many waiters as are queued, so a
 * process never has more than one acquire statement in flight per key and a burst of N callers
 * costs one round trip, not N. When every slot is taken the loop sleeps until a release: its own
 * (in-process), another process's (NOTIFY `assay_llm_released`), or a jittered 200–400 ms poll
 * that also finds leases left behind by a crashed process. When a pause or a bucket says "not
 * before t", it sleeps until t. A release with callers of this process waiting hands the slot
 * straight to the first of them in the same statement (within the process's fair share, see
 * llm-handover-migration.ts), so under load a call costs one statement, not an acquire and a
 * release.
 */
export class RateGovernor {
  private readonly keys = new Map<string, KeyQueue>();
  private readonly limits = new Map<string, GovernorLimits>();
  private readonly processToken = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private nextHolder = 1;
  private unlisten: (() => Promise<void>) | undefined;
  private closed = false;

  private constructor(private readonly db: GovernorDatabase) {}

  /** Starts listening for releases. `configure` each key before acquiring on it. */
  static async start(db: GovernorDatabase): Promise<RateGovernor> {
    const governor = new RateGovernor(db);
    governor.unlisten = await db.listen(RELEASE_CHANNEL, (payload) => governor.onNotify(payload));
    return governor;
  }

  /** Creates or updates the shared limits of `key` (the last process to call it sets them). */
  async configure(key: string, limits: GovernorLimits): Promise<void> {
    this.limits.set(key, { maxConcurrency: limits.maxConcurrency, rpm: limits.rpm, tpm: limits.tpm });
    await this.db.query('select assay_llm_configure($1, $2, $3, $4)', [key, limits.maxConcurrency, limits.rpm, limits.tpm]);
  }

  /**
   * Waits for a slot of `key` (and room in its buckets, and the end of any pause). The slot's
   * lease lasts `leaseMs`: past it, anyone may take the slot, so it must outlast the attempt.
   */
  acquire(key: string, options: { estimatedTokens?: number; leaseMs: number; signal?: AbortSignal }): Promise<Lease> {
    if (this.closed) return Promise.reject(new Error('RateGovernor is closed'));
    if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
    const queue = this.queue(key);
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        holder: `${this.processToken}:${this.nextHolder++}`,
        tokens: Math.max(0, Math.ceil(options.estimatedTokens ?? 0)),
        leaseMs: Math.max(1, Math.ceil(options.leaseMs)),
        resolve,
        reject,
        signal: options.signal,
        settled: false,
        onAbort: options.signal
          ? () => {
              if (waiter.settled) return;
              waiter.settled = true;
              queue.remove(waiter);
              reject(abortReason(options.signal!));
            }
          : undefined,
      };
      if (waiter.onAbort) options.signal!.addEventListener('abort', waiter.onAbort, { once: true });
      queue.push(waiter);
    });
  }

  /**
   * Gives the slot back (and settles tokens, sets a pause). Never throws: a lost release ends with
   * the lease. When a caller of this process is waiting for the key, the slot goes straight to it
   * in the same statement, if the limits and the process's fair share allow (see
   * llm-handover-migration.ts); otherwise it is freed for everyone.
   */
  async release(lease: Lease, options: ReleaseOptions = {}): Promise<void> {
    const tokenDelta = Math.round((options.usedTokens ?? 0) - lease.estimatedTokens);
    const pauseMs = Math.max(0, Math.ceil(options.pauseMs ?? 0));
    const queue = this.keys.get(lease.governorKey);
    const next = pauseMs === 0 ? queue?.takeNext() : undefined;
    if (next) {
      const handed = await this.handOver(lease, tokenDelta, next);
      if (!handed) queue!.putBack(next);
      return;
    }
    try {
      await this.db.query('select assay_llm_release($1, $2, $3, $4, $5, $6)', [
        lease.governorKey,
        lease.slot,
        lease.holder,
        tokenDelta,
        pauseMs,
        `${lease.governorKey}\n${this.processToken}`,
      ]);
    } catch (error) {
      warn('could not release an LLM slot; it comes back when its lease ends', error, { governorKey: lease.governorKey, slot: lease.slot });
    }
    // Our own NOTIFY is ignored (see onNotify): wake our waiters now, without the round trip.
    this.keys.get(lease.governorKey)?.wake();
  }

  /**
   * One statement: settle `lease` and give its slot to `next`, or free it. True when `next` got
   * the slot (or the slot was given back because `next` no longer wanted it).
   */
  private async handOver(lease: Lease, tokenDelta: number, next: Waiter): Promise<boolean> {
    const { governorKey, slot } = lease;
    try {
      const [{ handed }] = await this.db.query<{ handed: boolean }>('select assay_llm_release_to($1, $2, $3, $4, $5, $6, $7, $8) as handed', [
        governorKey,
        slot,
        lease.holder,
        tokenDelta,
        `${governorKey}\n${this.processToken}`,
        next.holder,
        next.tokens,
        next.leaseMs,
      ]);
      if (!handed) return false;
    } catch (error) {
      warn('could not release an LLM slot; it comes back when its lease ends', error, { governorKey, slot });
      return false;
    }
    const granted: Lease = { governorKey, slot, holder: next.holder, estimatedTokens: next.tokens, grantedAt: Date.now() };
    if (next.settled) {
      // Aborted, or granted a slot by the acquire loop, while the statement ran: this one goes on.
      await this.release(granted);
      return true;
    }
    settle(next, () => next.resolve(granted));
    return true;
  }

  /** Rejects queued waiters; held leases are not released (they end with their leases or their callers' releases). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const queue of this.keys.values()) queue.close(new Error('RateGovernor is closed'));
    await this.unlisten?.().catch(() => undefined);
  }

  /** Waiters queued in this process for `key` (for tests and metrics). */
  waiting(key: string): number {
    return this.keys.get(key)?.size ?? 0;
  }

  private queue(key: string): KeyQueue {
    let queue = this.keys.get(key);
    if (!queue) {
      queue = new KeyQueue(key, this.processToken, this.db, async () => {
        // The governor tables are unlogged: a database crash empties them. Put our limits back.
        const limits = this.limits.get(key);
        if (limits) await this.configure(key, limits);
      });
      this.keys.set(key, queue);
    }
    return queue;
  }

  private onNotify(payload: string): void {
    if (payload === '') {
      // The LISTEN connection came back: releases may have been missed.
      for (const queue of this.keys.values()) queue.wake();
      return;
    }
    const [key, from] = payload.split('\n');
    if (from === this.processToken) return;
    this.keys.get(key)?.wake();
  }
}

/** The local FIFO of one governor key and the loop that acquires for it. */
class KeyQueue {
  private readonly waiters: Waiter[] = [];
  private running = false;
  private wakeGeneration = 0;
  private wakeUp: (() => void) | undefined;
  private closed = false;

  /** Why the queue was closed: what a caller put back after that is told. */
  private closedBy: Error | undefined;
  /** When this process last told the others it is waiting for a slot (assay_llm_waiting). */
  private saidWaitingAt = 0;

  constructor(
    private readonly key: string,
    private readonly processToken: string,
    private readonly db: Sql,
    private readonly reconfigure: () => Promise<void>,
  ) {}

  get size(): number {
    return this.waiters.length;
  }

  /** The first caller still waiting, taken out of the queue (for a hand-over). */
  takeNext(): Waiter | undefined {
    while (this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      if (!waiter.settled) return waiter;
    }
    return undefined;
  }

  /** A caller `takeNext` took and could not be given a slot: first in line again. */
  putBack(waiter: Waiter): void {
    if (waiter.settled) return;
    if (this.closedBy) return settle(waiter, () => waiter.reject(this.closedBy));
    this.waiters.unshift(waiter);
    if (!this.running) void this.run();
    else this.wake();
  }

  push(waiter: Waiter): void {
    this.waiters.push(waiter);
    if (!this.running) void this.run();
    else this.wake();
  }

  remove(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  wake(): void {
    this.wakeGeneration++;
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    wakeUp?.();
  }

  close(error: Error): void {
    this.closed = true;
    this.closedBy = error;
    for (const waiter of this.waiters.splice(0)) settle(waiter, () => waiter.reject(error));
    this.wake();
  }

  private async run(): Promise<void> {
    this.running = true;
    let dbFailures = 0;
    try {
      while (!this.closed && this.waiters.length > 0) {
        const generation = this.wakeGeneration;
        const batch = this.waiters.slice(0, MAX_BATCH);
        let rows: { granted_holder: string | null; granted_slot: number | null; wait_ms: number | null }[];
        try {
          rows = await this.db.query('select granted_holder, granted_slot, wait_ms from assay_llm_acquire($1, $2, $3, $4)', [
            this.key,
            batch.map((w) => w.holder),
            batch.map((w) => w.tokens),
            batch.map((w) => w.leaseMs),
          ]);
          dbFailures = 0;
        } catch (error) {
          if ((error as { code?: unknown }).code === 'P0002' && dbFailures === 0) {
            dbFailures++;
            await this.reconfigure().catch(() => undefined);
            continue;
          }
          if (dbFailures >= DB_RETRY_DELAYS_MS.length) {
            // The database is gone for now: let callers decide (a scoring worker naks and retries later).
            for (const waiter of this.waiters.splice(0)) settle(waiter, () => waiter.reject(error));
            return;
          }
          await this.sleep(DB_RETRY_DELAYS_MS[dbFailures++], false);
          continue;
        }
        const now = Date.now();
        let waitMs = 0;
        for (const row of rows) {
          if (row.granted_holder === null) {
            waitMs = row.wait_ms ?? -1;
            continue;
          }
          const waiter = batch.find((w) => w.holder === row.granted_holder)!;
          const lease: Lease = { governorKey: this.key, slot: row.granted_slot!, holder: waiter.holder, estimatedTokens: waiter.tokens, grantedAt: now };
          this.remove(waiter);
          if (waiter.settled) {
            // Aborted while the statement ran: hand the slot straight back.
            void this.db.query('select assay_llm_release($1, $2, $3, $4, 0, $5)', [this.key, lease.slot, lease.holder, -lease.estimatedTokens, `${this.key}\n`]).catch(() => undefined);
            continue;
          }
          settle(waiter, () => waiter.resolve(lease));
        }
        if (this.waiters.length === 0 || waitMs === 0) continue;
        if (waitMs > 0) {
          // A pause or an empty bucket: nothing can be granted before then, whatever is released.
          await this.sleep(waitMs + Math.random() * Math.min(50, waitMs * 0.1), false);
        } else {
          // Every slot is taken. Say so (at most once a second), so that processes holding slots
          // leave this one its share instead of handing theirs over among their own callers.
          if (Date.now() - this.saidWaitingAt >= SAY_WAITING_EVERY_MS) {
            this.saidWaitingAt = Date.now();
            await this.db.query('select assay_llm_waiting($1, $2)', [this.key, this.processToken]).catch(() => undefined);
          }
          // Wait for a release (or poll, for leases that ran out).
          if (generation === this.wakeGeneration) await this.sleep(POLL_MIN_MS + Math.random() * (POLL_MAX_MS - POLL_MIN_MS), true);
        }
      }
    } finally {
      this.running = false;
      // A waiter that arrived after the loop's last look.
      if (!this.closed && this.waiters.length > 0) void this.run();
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      if (wakeable) this.wakeUp = done;
    });
  }
}

function settle(waiter: Waiter, fn: () => void): void {
  if (waiter.settled) return;
  waiter.settled = true;
  if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  fn();
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('The LLM call was cancelled');
}

function warn(msg: string, error: unknown, extra: Record<string, unknown>): void {
  const detail = error instanceof Error ? { error: error.message } : { error: String(error) };
  process.stderr.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), lib: '@assay/llm', msg, ...extra, ...detail })}\n`);
}
