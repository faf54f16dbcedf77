import { parse } from 'csv-parse/sync';
import { authHeaders, collectUntil, gql, wsClient } from '../support/graphql-client';
import { addRecordsInBatches, allRecords, createRunWithTwoMetrics, RUN_FIELDS, RunSnapshot, scoreAnomalies } from '../support/run-flow';
import { expectOneScoreEventPerRecordAndMetric, waitForStatus } from '../support/run-checks';
import { ServiceStack, startServiceStack } from '../support/service-stack';

/**
 * The three services as separate processes over real NATS JetStream and PostgreSQL, driven
 * through the public API exactly as a team's SDK or CI job would. The runs service is split as a
 * busy installation runs it (ASSAY_RUNS_ROLES): one process projects, another relays; the other
 * e2e specs run it whole.
 */
describe('service mode, end to end', () => {
  let stack: ServiceStack;

  beforeAll(async () => {
    stack = await startServiceStack({ scoringProcesses: 2, separateRelay: true });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  it('2,000 records in batches: a live subscriber sees SCORING then COMPLETED, and every record has exactly one score per metric', async () => {
    const { run, metricIds } = await createRunWithTwoMetrics(stack.httpUrl);
    expect(run.status).toBe('PENDING');

    const client = wsClient(stack.wsUrl);
    const updates = collectUntil<{ runUpdated: RunSnapshot }>(
      client,
      `subscription ($id: ID!) { runUpdated(runId: $id) { ${RUN_FIELDS} } }`,
      { id: run.id },
      ({ runUpdated }) => runUpdated.status === 'COMPLETED' && runUpdated.numRecords === 2000,
      120_000,
    );
    // The first push is the snapshot: subscribing is in place before records arrive.
    const { run: beforeRecords } = await gql(stack.httpUrl, 'query ($id: ID!) { run(id: $id) { status } }', { id: run.id });
    expect(beforeRecords.status).toBe('PENDING');

    await addRecordsInBatches(stack.httpUrl, run.id, 2000, 250);
    const seen = await updates.done.catch((error) => {
      throw new Error(`${error.message}\n${stack.logs()}`);
    });
    await client.dispose();

    const statuses = seen.map(({ payload }) => payload.runUpdated.status);
    expect(statuses).toContain('SCORING');
    expect(statuses.indexOf('SCORING')).toBeLessThan(statuses.lastIndexOf('COMPLETED'));
    // Pushes never go backwards.
    const scores = seen.map(({ payload }) => payload.runUpdated.numScores);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));

    const { run: done } = await gql(stack.httpUrl, `query ($id: ID!) { run(id: $id) { ${RUN_FIELDS} aggregates { metricId count passRate mean } } }`, { id: run.id });
    expect(done).toMatchObject({ status: 'COMPLETED', numRecords: 2000, numScores: 4000, numFailures: 0 });
    // Every third answer is wrong: exact match passes 2/3 of records.
    const exact = done.aggregates.find((a: { metricId: string }) => a.metricId === metricIds[0]);
    expect(exact.count).toBe(2000);
    expect(exact.passRate).toBeCloseTo(1333 / 2000, 6);

    const records = await allRecords(stack.httpUrl, run.id);
    expect(records).toHaveLength(2000);
    expect(scoreAnomalies(records, metricIds)).toEqual({ missing: [], doubled: [] });
    await expectOneScoreEventPerRecordAndMetric(stack.database.url, 4000);
  }, 180_000);

  it('the CSV export, parsed back with a CSV parser, equals the run data', async () => {
    const { run, metricIds } = await createRunWithTwoMetrics(stack.httpUrl);
    await addRecordsInBatches(stack.httpUrl, run.id, 120, 60);
    await gql(stack.httpUrl, 'mutation ($id: ID!) { addRecords(runId: $id, records: [{ testcaseId: "=HYPERLINK(\\"http://x\\")", outputs: { answer: "=1+1" }, expected: { answer: "=1+1" } }]) { id } }', { id: run.id });
    // addRecords answers once its records are stored, not projected: the run may still show COMPLETED for the first 120.
    await waitForStatus(stack, run.id, 'COMPLETED', 60_000, 121);

    const response = await fetch(`${stack.baseUrl}/runs/${run.id}/export.csv`, { headers: authHeaders() });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/csv');
    const rows: string[][] = parse(await response.text(), { relax_column_count: false });
    const [header, ...body] = rows;
    expect(header).toEqual([
      'record_id', 'testcase_id', 'inputs', 'outputs', 'expected',
      'exact.value', 'exact.passed', 'exact.reasoning', 'similar.value', 'similar.passed', 'similar.reasoning',
    ]);
    const records = await allRecords(stack.httpUrl, run.id);
    expect(body).toHaveLength(records.length);
    const byId = new Map(body.map((row) => [row[0], row]));
    for (const record of records) {
      const row = byId.get(record.id)!;
      if (record.testcaseId.startsWith('=')) {
        // A cell a spreadsheet would run as a formula is neutralised with a leading quote.
        expect(row[1]).toBe(`'${record.testcaseId}`);
      } else {
        expect(row[1]).toBe(record.testcaseId);
      }
      expect(row[2] === '' ? null : JSON.parse(row[2])).toEqual(record.inputs);
      expect(JSON.parse(row[3])).toEqual(record.outputs);
      expect(JSON.parse(row[4])).toEqual(record.expected);
      metricIds.forEach((metricId, i) => {
        const score = record.scores.find((s) => s.metricId === metricId)!;
        expect(Number(row[5 + 3 * i])).toBeCloseTo(score.value!, 10);
        expect(row[6 + 3 * i]).toBe(String(score.passed));
        expect(row[7 + 3 * i]).toBe(score.reasoning);
      });
    }
  }, 120_000);

  it('refuses bad input with stable codes and stores nothing of a refused call', async () => {
    const { run } = await createRunWithTwoMetrics(stack.httpUrl);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ testcaseId: `t${i}` }));
    await expect(gql(stack.httpUrl, 'mutation ($r: [RecordInput!]!) { addRecords(runId: "' + run.id + '", records: $r) { id } }', { r: tooMany })).rejects.toThrow(/TOO_MANY_RECORDS/);
    await expect(gql(stack.httpUrl, 'mutation { addRecords(runId: "missing", records: [{}]) { id } }')).rejects.toThrow(/RUN_NOT_FOUND/);
    await expect(gql(stack.httpUrl, `mutation { createRun(input: { projectId: "${run.id}", metricIds: ["nope"] }) { id } }`)).rejects.toThrow(/PROJECT_NOT_FOUND/);
    const { run: after } = await gql(stack.httpUrl, 'query ($id: ID!) { run(id: $id) { numRecords } }', { id: run.id });
    expect(after.numRecords).toBe(0);
  }, 60_000);
});
