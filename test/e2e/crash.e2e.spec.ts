import { Client as PgClient } from 'pg';
import { gql } from '../support/graphql-client';
import { addRecordsInBatches, allRecords, createRunWithTwoMetrics, scoreAnomalies } from '../support/run-flow';
import { ServiceStack, startServiceStack, waitFor } from '../support/service-stack';
import { expectOneScoreEventPerRecordAndMetric, waitForStatus } from '../support/run-checks';

/**
 * Processes die with kill -9 in the middle of a run. PostgreSQL holds the truth and every hop is
 * at-least-once with idempotent consumers, so the run still completes with exactly one score per
 * record and metric.
 */
describe('crash recovery', () => {
  let stack: ServiceStack;

  beforeAll(async () => {
    // A short ack wait so the killed worker's unacknowledged records are redelivered quickly.
    stack = await startServiceStack({ scoringProcesses: 2, env: { SCORING_ACK_WAIT_MS: '3000', SCORING_MAX_BATCH: '50' } });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  const numScores = async (runId: string): Promise<number> =>
    (await gql(stack.httpUrl, 'query ($id: ID!) { run(id: $id) { numScores } }', { id: runId })).run.numScores;

  it('kill -9 one of two scoring processes mid-run: the run completes, no record lacks a score, none has two', async () => {
    const { run, metricIds } = await createRunWithTwoMetrics(stack.httpUrl);
    await addRecordsInBatches(stack.httpUrl, run.id, 1000, 250);
    await waitFor(async () => (await numScores(run.id)) > 0, 30_000, () => stack.logs());

    const victim = stack.processes.find((p) => p.name === 'scoring')!;
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => victim.child.once('exit', resolve));

    await addRecordsInBatches(stack.httpUrl, run.id, 1000, 250, 1000);
    const done = await waitForStatus(stack, run.id, 'COMPLETED', 90_000);
    expect(done).toMatchObject({ numRecords: 2000, numScores: 4000, numFailures: 0 });
    const records = await allRecords(stack.httpUrl, run.id);
    expect(scoreAnomalies(records, metricIds)).toEqual({ missing: [], doubled: [] });
  }, 180_000);

  it('kill -9 the runs service (relay and projector) mid-run, start another: nothing lost, nothing doubled', async () => {
    const { run, metricIds } = await createRunWithTwoMetrics(stack.httpUrl);
    await addRecordsInBatches(stack.httpUrl, run.id, 500, 250);
    const runsProcess = stack.processes.find((p) => p.name === 'runs' && p.child.exitCode === null && p.child.signalCode === null)!;
    runsProcess.child.kill('SIGKILL');
    await new Promise((resolve) => runsProcess.child.once('exit', resolve));

    // Records keep arriving while nothing relays or projects them.
    await addRecordsInBatches(stack.httpUrl, run.id, 500, 250, 500);
    stack.start('runs');

    const done = await waitForStatus(stack, run.id, 'COMPLETED', 90_000);
    expect(done).toMatchObject({ numRecords: 1000, numScores: 2000, numFailures: 0 });
    const records = await allRecords(stack.httpUrl, run.id);
    expect(scoreAnomalies(records, metricIds)).toEqual({ missing: [], doubled: [] });
    // Both runs in this stack: 2,000 + 1,000 records, two metrics each.
    await expectOneScoreEventPerRecordAndMetric(stack.database.url, 6000);
  }, 180_000);

  it('PostgreSQL drops every connection of every service, three times mid-run: nothing lost, nothing doubled', async () => {
    // A database restart or failover as the services see it: their pools, LISTEN connections and
    // open transactions (a projection round, an append of scores) are cut at once.
    const { run, metricIds } = await createRunWithTwoMetrics(stack.httpUrl);
    await addRecordsInBatches(stack.httpUrl, run.id, 500, 250);
    await waitFor(async () => (await numScores(run.id)) > 0, 30_000, () => stack.logs());
    const admin = new PgClient({ connectionString: stack.database.url });
    await admin.connect();
    let cut = 0;
    try {
      for (let i = 0; i < 3; i++) {
        const { rows } = await admin.query(
          'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        );
        cut += rows[0].n;
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
    } finally {
      await admin.end();
    }
    expect(cut).toBeGreaterThan(0);

    await addRecordsInBatches(stack.httpUrl, run.id, 500, 250, 500);
    const done = await waitForStatus(stack, run.id, 'COMPLETED', 90_000, 1000);
    expect(done).toMatchObject({ numRecords: 1000, numScores: 2000, numFailures: 0 });
    const records = await allRecords(stack.httpUrl, run.id);
    expect(scoreAnomalies(records, metricIds)).toEqual({ missing: [], doubled: [] });
    await expectOneScoreEventPerRecordAndMetric(stack.database.url, 2000, run.id);
  }, 180_000);
});
