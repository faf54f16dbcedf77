import { Client as PgClient } from 'pg';
import { gql } from './graphql-client';
import { RUN_FIELDS, RunSnapshot } from './run-flow';
import type { ServiceStack } from './service-stack';

export async function waitForStatus(stack: ServiceStack, runId: string, status: string, timeoutMs = 60_000, numRecords?: number): Promise<RunSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { run } = await gql(stack.httpUrl, `query ($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: runId });
    // With numRecords: a status read before the newest records were projected is not the one awaited.
    if (run.status === status && (numRecords === undefined || run.numRecords === numRecords)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} (${run.numScores} scores)\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Straight from the event store: one ScoreRecorded per (record, metric), none twice (of one run, or of all). */
export async function expectOneScoreEventPerRecordAndMetric(databaseUrl: string, expectedTotal: number, runId?: string): Promise<void> {
  const pg = new PgClient({ connectionString: databaseUrl });
  await pg.connect();
  try {
    const { rows } = await pg.query(
      `select count(*)::int as total, count(distinct (data->>'recordId', data->>'metricId'))::int as distinct_pairs
       from assay_events where type = 'ScoreRecorded' and ($1::text is null or data->>'runId' = $1)`,
      [runId ?? null],
    );
    expect(rows[0]).toEqual({ total: expectedTotal, distinct_pairs: expectedTotal });
  } finally {
    await pg.end();
  }
}
