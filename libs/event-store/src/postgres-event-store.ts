import type { Database, Sql } from '@assay/database';
import { appendEvents, EVENTS_CHANNEL } from './append';
import { parseAppendedHint } from './appended-hint';
import { loadCheckpoint, saveCheckpoint } from './checkpoints';
import { logLine } from './log';
import { readAll } from './read-all';
import { DENSE_EVENT_TYPES } from './schema/003-sparse-types';
import { loadStream, loadStreamPositions, readEventsAt, readEventsById, readStream, readStreams, ReadStreamOptions, streamVersion } from './read-stream';
import type { AppendRequest, AppendResult, LogPosition, ReadAllOptions, ReadAllResult, StoredEvent } from './types';

const LISTEN_RETRY_MS = 1_000;

/** Told that events were appended: of these types, or of types unknown (undefined). */
export type AppendedListener = (types: ReadonlySet<string> | undefined) => void;
/** Delay of the follow-up hint after a read found events held back (see `readAll`). */
const HELD_BACK_HINT_MS = 25;
/** A held-back hint naming the per-record types only. */
const DENSE_TYPES: ReadonlySet<string> = new Set(DENSE_EVENT_TYPES);

/**
 * The event store on PostgreSQL. Every method takes an optional transaction (`tx`, from
 * `Database.transaction`) so a caller can read, decide and append, or project and checkpoint,
 * atomically; without one, reads run on the pool and an append runs in its own transaction.
 */
export class PostgresEventStore {
  private readonly appendedListeners = new Set<AppendedListener>();
  private listening: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private closed = false;
  private heldBackHint: NodeJS.Timeout | undefined;
  /** Whether the pending held-back hint must wake readers of every type (events of sparse types wait too). */
  private heldBackHintAll = false;

  constructor(private readonly db: Database) {}

  /**
   * Appends to one or more streams atomically, checking each stream's expected version.
   * Throws VersionConflictError (code VERSION_CONFLICT) when a stream is not where expected.
   */
  async append(requests: readonly AppendRequest[], tx?: Sql): Promise<AppendResult> {
    const result = await appendEvents(this.db, requests, tx);
    // Our own transaction has committed: wake local readers now rather than after the NOTIFY
    // round trip. In the caller's transaction nothing is visible yet; the NOTIFY fires at commit.
    if (!tx && result.events.length > 0) this.emitAppended(new Set(result.events.map((event) => event.type)));
    return result;
  }

  readStream(streamId: string, options: ReadStreamOptions = {}, tx?: Sql): Promise<StoredEvent[]> {
    return readStream(tx ?? this.db, streamId, options);
  }

  /** The stream's events (after `after`, of `types`) with its version, in one snapshot: what a state to decide on is loaded from. */
  loadStream(streamId: string, options: ReadStreamOptions = {}, tx?: Sql): Promise<{ events: StoredEvent[]; version: number }> {
    return loadStream(tx ?? this.db, streamId, options);
  }

  /** Where the stream's events (of `types`) lie in the global log, with its version: for reading a long stream a page at a time (`readEventsAt`). */
  loadStreamPositions(streamId: string, options: Pick<ReadStreamOptions, 'types'> = {}, tx?: Sql): Promise<{ globalPositions: number[]; version: number }> {
    return loadStreamPositions(tx ?? this.db, streamId, options);
  }

  readStreams(streamIds: readonly string[], tx?: Sql): Promise<Map<string, StoredEvent[]>> {
    return readStreams(tx ?? this.db, streamIds);
  }

  /** Events by global position, e.g. the RecordAdded a read model row points to. */
  readEventsAt(globalPositions: readonly number[], tx?: Sql): Promise<StoredEvent[]> {
    return readEventsAt(tx ?? this.db, globalPositions);
  }

  /** Events by id, e.g. what an earlier call with the same idempotency key stored. */
  readEventsById(eventIds: readonly string[], tx?: Sql): Promise<StoredEvent[]> {
    return readEventsById(tx ?? this.db, eventIds);
  }

  streamVersion(streamId: string, tx?: Sql): Promise<number> {
    return streamVersion(tx ?? this.db, streamId);
  }

  /**
   * The global log after `options.after`, in commit-safe order (see read-all.ts).
   *
   * When the read finds committed events held back behind an older open transaction, the
   * onAppended listeners get another hint shortly: that transaction may end without appending
   * (so without a NOTIFY), and a reader waiting only for hints would otherwise wait for its poll.
   */
  async readAll(options: ReadAllOptions, tx?: Sql): Promise<ReadAllResult> {
    const result = await readAll(tx ?? this.db, options);
    if (result.heldBack && this.appendedListeners.size > 0 && !this.closed) {
      // With only records and scores waiting (the usual case on a busy log), the hint names their
      // types and readers of other types stay asleep. One hint at a time, naming everything waiting.
      if (result.sparseHeldBack) this.heldBackHintAll = true;
      this.heldBackHint ??= setTimeout(() => {
        const held = this.heldBackHintAll ? undefined : DENSE_TYPES;
        this.heldBackHint = undefined;
        this.heldBackHintAll = false;
        this.emitAppended(held);
      }, HELD_BACK_HINT_MS).unref();
    }
    return result;
  }

  /** LOG_START when the reader has never saved one. */
  loadCheckpoint(name: string, tx?: Sql): Promise<LogPosition> {
    return loadCheckpoint(tx ?? this.db, name);
  }

  saveCheckpoint(name: string, position: LogPosition, tx?: Sql): Promise<void> {
    return saveCheckpoint(tx ?? this.db, name, position);
  }

  /**
   * Wake-up hints: called after events were appended (by this process, or by any process via
   * LISTEN assay_events), with the types appended when known (see appended-hint.ts). A hint, not a
   * delivery: read the log to see what changed. The LISTEN connection is opened on first use and
   * kept until `close()`.
   */
  onAppended(listener: AppendedListener): () => void {
    this.appendedListeners.add(listener);
    void this.startListening();
    return () => {
      this.appendedListeners.delete(listener);
    };
  }

  /** Resolves once LISTEN is active (after the first `onAppended`); for callers that must not miss a hint. */
  async whenListening(): Promise<void> {
    await this.startListening();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.heldBackHint);
    this.appendedListeners.clear();
    await this.unlisten?.();
  }

  private startListening(): Promise<void> {
    this.listening ??= this.db.listen(EVENTS_CHANNEL, (payload) => this.emitAppended(parseAppendedHint(payload))).then(
      (unlisten) => {
        if (this.closed) return void unlisten();
        this.unlisten = unlisten;
      },
      (error) => {
        // The database is unreachable for now: readers still poll; try again shortly.
        logLine('warn', 'LISTEN assay_events failed; retrying', { error });
        this.listening = undefined;
        setTimeout(() => this.appendedListeners.size > 0 && !this.closed && void this.startListening(), LISTEN_RETRY_MS).unref();
      },
    );
    return this.listening;
  }

  /** `types` undefined: unknown, so every listener should look. */
  private emitAppended(types?: ReadonlySet<string>): void {
    for (const listener of [...this.appendedListeners]) {
      try {
        listener(types);
      } catch (error) {
        logLine('error', 'onAppended listener threw', { error });
      }
    }
  }
}
