import { get as httpGet, type IncomingMessage } from 'node:http';
import { parse } from 'csv-parse/sync';
import type { RecordView, RunQueriesApi } from '@assay/runs';
import { boot, type Booted } from './boot';
import type { FakeRuns } from './fakes';
import { auth, gql, sleep, waitFor } from './helpers';
import { useRealGateway } from './real-gateway';

describe('GET /runs/:id/export.csv', () => {
  let g: Booted;

  beforeAll(async () => {
    g = await boot();
  });
  afterAll(async () => {
    await g.app.close();
  });

  it('streams every record with its scores as RFC 4180 CSV that parses back to the data', async () => {
    const project = await g.runs.createProject({ name: 'csv' });
    const accuracy = await g.runs.createMetric({ projectId: project.id, name: 'accuracy, strict', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH' } });
    const closeness = await g.runs.createMetric({ projectId: project.id, name: 'closeness "Δ"', evalType: 'HEURISTIC', outputType: 'FLOAT', heuristic: { kind: 'LEVENSHTEIN' } });
    const run = await g.runs.createRun({ projectId: project.id, metricIds: [accuracy.id, closeness.id] });
    const records = await g.runs.addRecords(run.id, [
      {
        testcaseId: 'tc-1',
        inputs: { question: 'He said "hi", then left\nnew line\r\nand CRLF' },
        outputs: { answer: 'café ☕ 日本語 🎉' },
        expected: { answer: 'x,y' },
      },
      { testcaseId: '=HYPERLINK("http://evil.example","click")', inputs: 'plain string', outputs: -3, expected: null },
      { testcaseId: null, inputs: [1, 2, 3], outputs: { a: '\t' }, expected: true },
      { testcaseId: '+1', inputs: '=1+1', outputs: '@SUM(A1)', expected: -0.25 },
    ]);
    const [r1, r2, r3, r4] = records;
    g.runs.score(run.id, r1.id, { metricId: accuracy.id, value: 1, passed: true, reasoning: 'Matched exactly\nmostly', error: null });
    g.runs.score(run.id, r1.id, { metricId: closeness.id, value: -0.5, passed: false, reasoning: '-0.5 is below the threshold', error: null });
    g.runs.score(run.id, r2.id, { metricId: accuracy.id, value: null, passed: null, reasoning: null, error: { code: 'HEURISTIC_FAILED', reason: 'regex, invalid' } });
    g.runs.score(run.id, r4.id, { metricId: accuracy.id, value: 0, passed: false, reasoning: '\tleading tab', error: null });

    const res = await fetch(`${g.base}/runs/${run.id}/export.csv`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="run-${run.id}.csv"`);
    const text = await res.text();
    expect(text.startsWith('record_id,')).toBe(true); // no BOM unless asked
    expect(text.split('\r\n')[0]).toBe(
      'record_id,testcase_id,inputs,outputs,expected,' +
        '"accuracy, strict.value","accuracy, strict.passed","accuracy, strict.reasoning",' +
        '"closeness ""Δ"".value","closeness ""Δ"".passed","closeness ""Δ"".reasoning"',
    );
    expect(text.endsWith('\r\n')).toBe(true);
    // RFC 4180: a field with a line break is quoted, a lone LF included (lenient parsers hide this).
    expect(text).toContain('"Matched exactly\nmostly"');

    const rows: string[][] = parse(text, { relax_column_count: false });
    expect(rows).toEqual([
      [
        'record_id', 'testcase_id', 'inputs', 'outputs', 'expected',
        'accuracy, strict.value', 'accuracy, strict.passed', 'accuracy, strict.reasoning',
        'closeness "Δ".value', 'closeness "Δ".passed', 'closeness "Δ".reasoning',
      ],
      [
        r1.id, 'tc-1',
        JSON.stringify({ question: 'He said "hi", then left\nnew line\r\nand CRLF' }),
        JSON.stringify({ answer: 'café ☕ 日本語 🎉' }),
        JSON.stringify({ answer: 'x,y' }),
        '1', 'true', 'Matched exactly\nmostly',
        '-0.5', 'false', "'-0.5 is below the threshold", // number cell kept; text cell neutralised
      ],
      [
        r2.id, `'=HYPERLINK("http://evil.example","click")`,
        '"plain string"', '-3', '',
        '', '', 'error HEURISTIC_FAILED: regex, invalid',
        '', '', '',
      ],
      [r3.id, '', '[1,2,3]', JSON.stringify({ a: '\t' }), 'true', '', '', '', '', '', ''],
      [
        r4.id, "'+1",
        '"=1+1"', '"@SUM(A1)"', '-0.25', // JSON text of a string starts with a quote: already inert
        '0', 'false', "'\tleading tab",
        '', '', '',
      ],
    ]);
  });

  it('adds a UTF-8 BOM on request', async () => {
    const project = await g.runs.createProject({ name: 'bom' });
    const run = await g.runs.createRun({ projectId: project.id, metricIds: [] });
    const res = await fetch(`${g.base}/runs/${run.id}/export.csv?bom=1`, { headers: auth() });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString('utf8')).toBe('record_id,testcase_id,inputs,outputs,expected\r\n');
  });

  it('answers 404 with code RUN_NOT_FOUND for an unknown run', async () => {
    const res = await fetch(`${g.base}/runs/run_missing/export.csv`, { headers: auth() });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual({ errors: [{ message: expect.stringContaining('run_missing'), extensions: { code: 'RUN_NOT_FOUND' } }] });
  });
});

describe('GET /runs/:id/export.csv of a re-scored run (real backend)', () => {
  const g = useRealGateway('csv_rescore');

  it("shows the score of the run's current metric version, and while that is pending the newest version scored, as GraphQL does", async () => {
    const commands = g.backend.runs.commands;
    const helpful = await commands.createMetric({ projectId: g.projects.a, name: 'helpful', evalType: 'AI', outputType: 'INT', promptTemplate: 'Rate {{ outputs }}' });
    const exact = await commands.createMetric({ projectId: g.projects.a, name: 'exact', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH' } });
    const run = await commands.createRun({ projectId: g.projects.a, metricIds: [helpful.id, exact.id] });
    const [a, b, c] = await commands.addRecords(run.id, [{ outputs: 'a', expected: 'a' }, { outputs: 'b', expected: 'b' }, { outputs: 'c', expected: 'x' }]);
    /** A score of `helpful` at the version (and round) the run pins now; its reasoning names the version. */
    const helpfulAt = async (recordId: string, value: number) => {
      const pinned = (await commands.metricsOfRun(run.id)).find((m) => m.metricId === helpful.id)!;
      const round = (pinned as { round?: number }).round;
      return { kind: 'score' as const, runId: run.id, recordId, metric: pinned, value, reasoning: `v${pinned.version}`, ...(round ? { round } : {}) };
    };
    const exactSnapshot = (await commands.metricsOfRun(run.id)).find((m) => m.metricId === exact.id)!;

    // Version 1 scores every record.
    await commands.recordOutcomes([
      await helpfulAt(a.id, 1),
      await helpfulAt(b.id, 1),
      await helpfulAt(c.id, 1),
      ...[a, b, c].map((r) => ({ kind: 'score' as const, runId: run.id, recordId: r.id, metric: exactSnapshot, value: r === c ? 0 : 1, reasoning: 'exact' })),
    ]);
    // Version 2 re-scores a and b; version 3 (what the run pins now) has scored only b so far.
    await commands.updateMetric({ metricId: helpful.id, guidelines: 'Be strict.' });
    await commands.rescoreRun({ runId: run.id, metricIds: [helpful.id] });
    await commands.recordOutcomes([await helpfulAt(a.id, 3), await helpfulAt(b.id, 3)]);
    await commands.updateMetric({ metricId: helpful.id, guidelines: 'Be stricter.' });
    const rescored = await commands.rescoreRun({ runId: run.id, metricIds: [helpful.id] });
    expect(rescored.metrics.map((m) => [m.name, m.version])).toEqual([['helpful', 3], ['exact', 1]]);
    await commands.recordOutcomes([await helpfulAt(b.id, 5)]);
    await g.settled();

    const res = await fetch(`${g.base}/runs/${run.id}/export.csv`, { headers: auth(g.keys.a) });
    expect(res.status).toBe(200);
    const rows: string[][] = parse(await res.text());
    expect(rows).toEqual([
      ['record_id', 'testcase_id', 'inputs', 'outputs', 'expected', 'helpful.value', 'helpful.passed', 'helpful.reasoning', 'exact.value', 'exact.passed', 'exact.reasoning'],
      [a.id, '', '', '"a"', '"a"', '3', 'false', 'v2', '1', 'true', 'exact'], // v3 pending: v2, not v1
      [b.id, '', '', '"b"', '"b"', '5', 'true', 'v3', '1', 'true', 'exact'], // the current version
      [c.id, '', '', '"c"', '"x"', '1', 'false', 'v1', '0', 'false', 'exact'], // only v1 so far
    ]);

    // GraphQL lists every version scored, oldest first: the export shows the last one of each metric.
    const read = await gql(g.base, 'query ($id: ID!) { run(id: $id) { records { edges { node { id scores { metricId metricVersion value reasoning } } } } } }', { id: run.id }, g.keys.a);
    expect(read.body.errors).toBeUndefined();
    const nodes: { id: string; scores: { metricId: string; metricVersion: number; value: number; reasoning: string }[] }[] = read.body.data.run.records.edges.map((e: { node: unknown }) => e.node);
    expect(nodes.map((n) => n.scores.filter((s) => s.metricId === helpful.id).map((s) => s.metricVersion))).toEqual([[1, 2], [1, 2, 3], [1]]);
    const lastHelpful = nodes.map((n) => n.scores.filter((s) => s.metricId === helpful.id).at(-1)!);
    expect(lastHelpful.map((s) => [String(s.value), s.reasoning])).toEqual(rows.slice(1).map((row) => [row[5], row[7]]));
  });
});

describe('CSV export streaming', () => {
  const TOTAL = 1_000_000;
  let g: Booted;
  let pulled = 0;
  let finished = false;

  /** Queries whose streamRecords makes a million records on demand, counting how many were taken. */
  function lazyQueries(runs: FakeRuns): RunQueriesApi {
    return {
      getProject: (id) => runs.getProject(id),
      getMetric: (id) => runs.getMetric(id),
      listMetrics: (id) => runs.listMetrics(id),
      listMetricVersions: (id) => runs.listMetricVersions(id),
      getRunMetricVersions: (id) => runs.getRunMetricVersions(id),
      getRun: (id) => runs.getRun(id),
      getRuns: (ids) => runs.getRuns(ids),
      listRuns: (p, page) => runs.listRuns(p, page),
      getAggregates: (id) => runs.getAggregates(id),
      listRecords: (id, page) => runs.listRecords(id, page),
      async *streamRecords(runId: string): AsyncIterable<RecordView> {
        try {
          for (let i = 0; i < TOTAL; i++) {
            pulled++;
            if (i % 500 === 0) await Promise.resolve(); // page boundary
            yield { id: `rec_${i}`, runId, testcaseId: `tc-${i}`, inputs: { i, text: 'lorem ipsum dolor sit amet '.repeat(4) }, outputs: null, expected: null, scores: [], createdAt: new Date(0) };
          }
        } finally {
          finished = true;
        }
      },
    };
  }

  beforeAll(async () => {
    g = await boot({ queries: lazyQueries });
  });
  afterAll(async () => {
    await g.app.close();
  });

  it('pulls records only as fast as the client reads, and releases the source when the client leaves', async () => {
    const project = await g.runs.createProject({ name: 'big' });
    const run = await g.runs.createRun({ projectId: project.id, metricIds: [] });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpGet(`${g.base}/runs/${run.id}/export.csv`, { headers: auth() }, resolve);
      req.on('error', reject);
    });
    expect(response.statusCode).toBe(200);
    // Do not read: the server must stop pulling once socket and stream buffers are full.
    await sleep(300);
    const stalledAt = pulled;
    await sleep(300);
    expect(pulled).toBe(stalledAt);
    expect(pulled).toBeLessThan(TOTAL / 10);

    // Read a little, then hang up.
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > 1_000_000) response.destroy();
    });
    await waitFor(() => finished, 5_000, 'the record source to be released');
    expect(pulled).toBeLessThan(TOTAL);
  });
});
