import type { EventData } from '@assay/contracts';
import type { Sql } from '@assay/database';
import type { StoredEvent } from '@assay/event-store';

/** rm_testcases.seq = global position × this + index in the event (an event holds at most 1,000 testcases). */
export const SEQ_PER_EVENT = 1024;

/** The event types this projector reads (the processor filters the log by them). */
export const TESTSET_EVENT_TYPES = ['TestsetCreated', 'TestsetUpdated', 'TestcasesAdded', 'TestcasesUpdated'] as const;

/**
 * Folds a batch of testset events into rm_testsets / rm_testcases in the processor's transaction.
 * Testcases go in one INSERT per batch (an import batch of 1,000 rows is one statement) and one
 * UPDATE for all changed testcases; definitions change rarely and are applied one by one, in order.
 * Idempotent per event: inserts skip existing rows and counts move only by rows inserted.
 */
export async function projectTestsets(events: readonly StoredEvent[], tx: Sql): Promise<void> {
  // Definitions first: testcases of a testset created in this batch then find its row.
  for (const event of events) {
    if (event.type === 'TestsetCreated') {
      const d = event.data as EventData<'TestsetCreated'>;
      await tx.query(
        `insert into rm_testsets (id, project_id, name, description, json_schema, field_mapping, schema_revision, stream_version, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) on conflict do nothing`,
        [d.testsetId, d.projectId, d.name, d.description, JSON.stringify(d.jsonSchema), JSON.stringify(d.fieldMapping), d.schemaRevision, event.streamPosition, event.createdAt],
      );
    } else if (event.type === 'TestsetUpdated') {
      const d = event.data as EventData<'TestsetUpdated'>;
      await tx.query(
        `update rm_testsets set name = $2, description = $3, json_schema = $4, field_mapping = $5, schema_revision = $6,
                stream_version = $7, updated_at = $8
         where id = $1 and stream_version < $7`,
        [d.testsetId, d.name, d.description, JSON.stringify(d.jsonSchema), JSON.stringify(d.fieldMapping), d.schemaRevision, event.streamPosition, event.createdAt],
      );
    }
  }
  const added: object[] = [];
  // The last update of each testcase in the batch wins (they are in log order).
  const updated = new Map<string, object>();
  const fieldsSeen = new Map<string, Set<string>>();
  const seeFields = (testsetId: string, jsonText: string) => {
    let seen = fieldsSeen.get(testsetId);
    if (!seen) fieldsSeen.set(testsetId, (seen = new Set()));
    for (const field of Object.keys(JSON.parse(jsonText) as object)) seen.add(field);
  };
  for (const event of events) {
    if (event.type === 'TestcasesAdded') {
      const d = event.data as EventData<'TestcasesAdded'>;
      d.testcases.forEach((t, i) => {
        seeFields(d.testsetId, t.jsonText);
        added.push({
          id: t.testcaseId,
          testset_id: d.testsetId,
          // Order of arrival: the event's place in the log, then the testcase's place in the event.
          seq: event.globalPosition * SEQ_PER_EVENT + i,
          json_text: t.jsonText,
          schema_revision: t.schemaRevision,
          validation_errors: t.validationErrors,
          created_at: event.createdAt.toISOString(),
        });
      });
    } else if (event.type === 'TestcasesUpdated') {
      const d = event.data as EventData<'TestcasesUpdated'>;
      for (const t of d.testcases) {
        seeFields(d.testsetId, t.jsonText);
        updated.set(t.testcaseId, {
          id: t.testcaseId,
          testset_id: d.testsetId,
          json_text: t.jsonText,
          schema_revision: t.schemaRevision,
          validation_errors: t.validationErrors,
          updated_at: event.createdAt.toISOString(),
        });
      }
    }
  }
  if (added.length) {
    await tx.query(
      `with inserted as (
         insert into rm_testcases (id, testset_id, seq, json_text, schema_revision, validation_errors, created_at, updated_at)
         select id, testset_id, seq, json_text, schema_revision, validation_errors, created_at, created_at
         from jsonb_to_recordset($1::jsonb) as x(id text, testset_id text, seq bigint, json_text text, schema_revision int,
              validation_errors jsonb, created_at timestamptz)
         on conflict do nothing
         returning testset_id)
       update rm_testsets t set num_testcases = t.num_testcases + c.n
       from (select testset_id, count(*) as n from inserted group by testset_id) c
       where t.id = c.testset_id`,
      [JSON.stringify(added)],
    );
  }
  if (updated.size) {
    await tx.query(
      `update rm_testcases c set json_text = x.json_text, schema_revision = x.schema_revision,
              validation_errors = x.validation_errors, updated_at = x.updated_at
       from jsonb_to_recordset($1::jsonb) as x(id text, testset_id text, json_text text, schema_revision int, validation_errors jsonb, updated_at timestamptz)
       where c.id = x.id and c.testset_id = x.testset_id`,
      [JSON.stringify([...updated.values()])],
    );
  }
  if (fieldsSeen.size) await addFields(fieldsSeen, tx);
}

/** Appends newly seen field names to each testset's `fields`, keeping first-appearance order. */
async function addFields(fieldsSeen: Map<string, Set<string>>, tx: Sql): Promise<void> {
  const rows = await tx.query<{ id: string; fields: string[] }>('select id, fields from rm_testsets where id = any($1::text[]) for update', [[...fieldsSeen.keys()]]);
  const changed = rows.flatMap((row) => {
    const known = new Set(row.fields);
    const fresh = [...(fieldsSeen.get(row.id) ?? [])].filter((f) => !known.has(f));
    return fresh.length ? [{ id: row.id, fields: [...row.fields, ...fresh] }] : [];
  });
  if (changed.length) {
    await tx.query(
      `update rm_testsets t set fields = x.fields from jsonb_to_recordset($1::jsonb) as x(id text, fields jsonb) where t.id = x.id`,
      [JSON.stringify(changed)],
    );
  }
}
