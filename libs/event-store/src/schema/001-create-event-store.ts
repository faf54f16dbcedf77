import { Migration } from '@mikro-orm/migrations';

/**
 * The event store's two tables. Each column is also described with COMMENT ON, so `\d+` in psql
 * tells the same story as this file.
 */
export class Migration20261125EventStore extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table assay_events (
        -- Append order, unique across all streams. NOT commit order: a transaction can draw 101,
        -- another draw 102 and commit first. Readers of the global log order by
        -- (transaction_id, global_position) instead; see transaction_id.
        global_position bigserial primary key,

        -- The appending transaction (xid8, 64-bit, never wraps). Every transaction still running
        -- has an id at or above pg_snapshot_xmin(pg_current_snapshot()), so rows below it are
        -- final: nothing can commit later with a smaller transaction_id.
        transaction_id  xid8 not null default pg_current_xact_id(),

        -- The aggregate the event belongs to, e.g. "run-<uuid>".
        stream_id       text not null,

        -- 1 for the stream's first event. Unique per stream: of two writers expecting the same
        -- version, only one can insert the next position (optimistic concurrency).
        stream_position int not null check (stream_position > 0),

        -- Chosen by the writer (or random): lets a retried append, or a consumer, recognise it.
        event_id        uuid not null,

        -- Event type name and the schema version its data was written with (see @assay/contracts).
        type            text not null,
        schema_version  int not null,

        -- The payload, and correlation/causation/actor metadata.
        data            jsonb not null,
        metadata        jsonb not null default '{}',

        -- Wall-clock time of the insert itself (not of the transaction start).
        created_at      timestamptz not null default clock_timestamp(),

        constraint assay_events_event_id_key unique (event_id),
        constraint assay_events_stream_position_key unique (stream_id, stream_position)
      )
    `);
    // The global reader: rows after (transaction_id, global_position), in that order.
    this.addSql(`create index assay_events_transaction_order on assay_events (transaction_id, global_position)`);
    this.addSql(`
      create table assay_checkpoints (
        -- The reader (log processor) the position belongs to.
        name            text primary key,
        -- The last (transaction_id, global_position) the reader has fully handled.
        transaction_id  xid8 not null,
        global_position bigint not null,
        updated_at      timestamptz not null default clock_timestamp()
      )
    `);
    this.addSql(`comment on table assay_events is 'The event log: the source of truth. Rows are only ever inserted.'`);
    this.addSql(`comment on column assay_events.global_position is 'Append order (not commit order). Unique across streams.'`);
    this.addSql(
      `comment on column assay_events.transaction_id is 'Appending transaction (pg_current_xact_id). Global readers order by (transaction_id, global_position) and read only below pg_snapshot_xmin(pg_current_snapshot()).'`,
    );
    this.addSql(`comment on column assay_events.stream_id is 'Aggregate the event belongs to.'`);
    this.addSql(`comment on column assay_events.stream_position is '1-based position in the stream; unique per stream (optimistic concurrency).'`);
    this.addSql(`comment on column assay_events.event_id is 'Unique id; lets retries and consumers recognise the event.'`);
    this.addSql(`comment on column assay_events.type is 'Event type name (see @assay/contracts).'`);
    this.addSql(`comment on column assay_events.schema_version is 'Schema version of data for this type.'`);
    this.addSql(`comment on column assay_events.data is 'Event payload.'`);
    this.addSql(`comment on column assay_events.metadata is 'Correlation, causation, actor: free-form.'`);
    this.addSql(`comment on column assay_events.created_at is 'clock_timestamp() at insert.'`);
    this.addSql(`comment on table assay_checkpoints is 'Where each named reader of the global log stands; saved in the same transaction as its effects.'`);
    this.addSql(`comment on column assay_checkpoints.transaction_id is 'Last handled (transaction_id, global_position): first half.'`);
    this.addSql(`comment on column assay_checkpoints.global_position is 'Last handled (transaction_id, global_position): second half.'`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists assay_checkpoints');
    this.addSql('drop table if exists assay_events');
  }
}
