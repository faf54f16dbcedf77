import { parse } from 'csv-parse/sync';
import { gql, type GqlResponse } from './helpers';
import { useRealGateway } from './real-gateway';

/**
 * Human review through the real gateway over the real backend on PostgreSQL, with real project
 * keys: submitScore (who scored, corrections), the review queue, the run's status and counts, and
 * records and metrics of another project refused exactly like missing ones.
 */
describe('gateway: human review', () => {
  const g = useRealGateway('review', { pollIntervalMs: 20 });
  const ok = <T = any>(res: GqlResponse<T>): T => {
    expect(res.body.errors).toBeUndefined();
    return res.body.data as T;
  };
  const errorOf = (res: GqlResponse) => ({ status: res.status, ...res.body.errors?.[0], data: res.body.data });

  const SUBMIT = 'mutation ($input: SubmitScoreInput!) { submitScore(input: $input) { metricId metricVersion value passed reasoning source scoredBy error { code } } }';
  const submit = (key: string, input: Record<string, unknown>) => gql(g.base, SUBMIT, { input }, key);
  const QUEUE = `query ($p: ID!, $m: ID!, $first: Int, $after: String) {
    reviewQueue(projectId: $p, metricId: $m, first: $first, after: $after) {
      totalCount pageInfo { endCursor hasNextPage }
      edges { cursor node { id testcaseId inputs outputs expected run { id status numAwaitingHuman } scores { metricId value source scoredBy } } }
    } }`;
  const queue = (key: string, p: string, m: string, first?: number, after?: string | null) => gql(g.base, QUEUE, { p, m, first, after }, key);
  const RUN = `query ($id: ID!) { run(id: $id) { status phase numRecords numScores numHumanMetrics numHumanScores numAwaitingHuman
    aggregates { metricId count passed passRate mean }
    records { edges { node { id scores { metricId value passed reasoning source scoredBy } } } } } }`;

  /** A project with a HUMAN INT metric (threshold 4) and a heuristic one, and a run of n records that pinned both. */
  async function fixture(p: 'a' | 'b', n: number) {
    const { commands } = g.backend.runs;
    const tone = await commands.createMetric({ projectId: g.projects[p], name: `tone ${n}`, evalType: 'HUMAN', outputType: 'INT', guidelines: '5: kind' });
    const exact = await commands.createMetric({ projectId: g.projects[p], name: `exact ${n}`, evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH' } });
    const run = await commands.createRun({ projectId: g.projects[p], metricIds: [tone.id, exact.id] });
    const records = await commands.addRecords(
      run.id,
      Array.from({ length: n }, (_, i) => ({ testcaseId: `case-${i}`, inputs: { q: i }, outputs: { a: `answer ${i}` }, expected: { a: `answer ${i}` } })),
    );
    const [, exactPin] = await commands.metricsOfRun(run.id);
    // What the scoring worker does for the heuristic metric.
    await commands.recordOutcomes(records.map((r) => ({ kind: 'score', runId: run.id, recordId: r.id, metric: exactPin, value: 1, reasoning: 'same' }) as const));
    await g.settled();
    return { tone, exact, run, records };
  }

  it('a person scores every record from the queue; the run waits for them, then completes', async () => {
    const { tone, exact, run, records } = await fixture('a', 3);
    const before = ok(await gql(g.base, RUN, { id: run.id }, g.keys.a)).run;
    expect(before).toMatchObject({ status: 'SCORING', phase: 'AWAITING_HUMAN', numRecords: 3, numScores: 3, numHumanMetrics: 1, numHumanScores: 0, numAwaitingHuman: 3 });

    const page1 = ok(await queue(g.keys.a, g.projects.a, tone.id, 2)).reviewQueue;
    expect(page1.totalCount).toBe(3);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(page1.edges.map((e: any) => e.node.id)).toEqual([records[0].id, records[1].id]);
    expect(page1.edges[0].node).toEqual({
      id: records[0].id,
      testcaseId: 'case-0',
      inputs: { q: 0 },
      outputs: { a: 'answer 0' },
      expected: { a: 'answer 0' },
      run: { id: run.id, status: 'SCORING', numAwaitingHuman: 3 },
      scores: [{ metricId: exact.id, value: 1, source: 'AUTOMATIC', scoredBy: null }],
    });
    const page2 = ok(await queue(g.keys.a, g.projects.a, tone.id, 2, page1.pageInfo.endCursor)).reviewQueue;
    expect(page2.edges.map((e: any) => e.node.id)).toEqual([records[2].id]);
    expect(page2.pageInfo.hasNextPage).toBe(false);

    for (const [i, edge] of [...page1.edges, ...page2.edges].entries()) {
      const scored = ok(await submit(g.keys.a, { recordId: edge.node.id, metricId: tone.id, value: i + 3, reasoning: `looked at ${i}` })).submitScore;
      expect(scored).toEqual({
        metricId: tone.id,
        metricVersion: 1,
        value: i + 3,
        passed: i + 3 >= 4,
        reasoning: `looked at ${i}`,
        source: 'HUMAN',
        scoredBy: g.keyIds.a,
        error: null,
      });
      const view = ok(await gql(g.base, RUN, { id: run.id }, g.keys.a)).run;
      expect(view).toMatchObject({ status: i < 2 ? 'SCORING' : 'COMPLETED', phase: i < 2 ? 'AWAITING_HUMAN' : 'DONE', numHumanScores: i + 1, numAwaitingHuman: 2 - i });
      expect(ok(await queue(g.keys.a, g.projects.a, tone.id)).reviewQueue.totalCount).toBe(2 - i);
    }
    const after = ok(await gql(g.base, RUN, { id: run.id }, g.keys.a)).run;
    expect(after).toMatchObject({ status: 'COMPLETED', numScores: 6 });
    expect(after.aggregates).toEqual([
      { metricId: tone.id, count: 3, passed: 2, passRate: 2 / 3, mean: 4 },
      { metricId: exact.id, count: 3, passed: 3, passRate: 1, mean: 1 },
    ]);
    expect(after.records.edges[0].node.scores).toContainEqual({ metricId: tone.id, value: 3, passed: false, reasoning: 'looked at 0', source: 'HUMAN', scoredBy: g.keyIds.a });
    // The CSV export says who scored each human score (automatic metrics have no such column).
    const csv = await fetch(`${g.base}/runs/${run.id}/export.csv`, { headers: { authorization: `Bearer ${g.keys.a}` } });
    const [header, ...rows]: string[][] = parse(await csv.text());
    expect(header.filter((column) => column.endsWith('.scored_by'))).toEqual([`${tone.name}.scored_by`]);
    const scoredBy = header.indexOf(`${tone.name}.scored_by`);
    expect(header[scoredBy - 3]).toBe(`${tone.name}.value`);
    expect(rows.map((row) => row[scoredBy])).toEqual([g.keyIds.a, g.keyIds.a, g.keyIds.a]);
    expect(ok(await queue(g.keys.a, g.projects.a, tone.id)).reviewQueue).toEqual({ totalCount: 0, pageInfo: { endCursor: null, hasNextPage: false }, edges: [] });
  });

  it('corrects a score by submitting again: aggregates move by the difference, the count stays', async () => {
    const { tone, run, records } = await fixture('a', 2);
    await submit(g.keys.a, { recordId: records[0].id, metricId: tone.id, value: 5 });
    await submit(g.keys.a, { recordId: records[1].id, metricId: tone.id, value: 2, reasoning: 'rude' });
    const aggregateOf = async () => ok(await gql(g.base, RUN, { id: run.id }, g.keys.a)).run;
    expect((await aggregateOf()).aggregates[0]).toMatchObject({ count: 2, passed: 1, mean: 3.5 });

    // Another reviewer of the project corrects it; the score says who did.
    const reviewer = await g.backend.access.createApiKey({ projectId: g.projects.a, name: 'second reviewer', createdByKeyId: null });
    const corrected = ok(await submit(reviewer.key, { recordId: records[1].id, metricId: tone.id, value: 4, reasoning: 'fine after all' })).submitScore;
    expect(corrected).toMatchObject({ value: 4, passed: true, reasoning: 'fine after all', source: 'HUMAN', scoredBy: reviewer.id });
    const view = await aggregateOf();
    expect(view).toMatchObject({ status: 'COMPLETED', numScores: 4, numHumanScores: 2, numAwaitingHuman: 0 });
    expect(view.aggregates[0]).toMatchObject({ count: 2, passed: 2, passRate: 1, mean: 4.5 });
    const [event] = (await g.backend.store.readStream(`record-${records[1].id}`)).filter((e) => e.type === 'HumanScoreCorrected');
    expect(event.data).toMatchObject({ previousValue: 2, previousReasoning: 'rude', value: 4, correctedBy: reviewer.id });
  });

  it('rescoreRun leaves the human scores as people gave them', async () => {
    const { tone, exact, run, records } = await fixture('a', 2);
    await submit(g.keys.a, { recordId: records[0].id, metricId: tone.id, value: 5, reasoning: 'kind' });
    await submit(g.keys.a, { recordId: records[1].id, metricId: tone.id, value: 2 });
    await submit(g.keys.a, { recordId: records[1].id, metricId: tone.id, value: 3, reasoning: 'corrected' });
    const RESCORE = 'mutation ($r: ID!, $m: [ID!]) { rescoreRun(runId: $r, metricIds: $m) { status phase numHumanScores numAwaitingHuman metrics { id version } } }';
    expect(errorOf(await gql(g.base, RESCORE, { r: run.id, m: [tone.id] }, g.keys.a))).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const rescored = ok(await gql(g.base, RESCORE, { r: run.id, m: [exact.id, tone.id] }, g.keys.a)).rescoreRun;
    expect(rescored).toMatchObject({ status: 'SCORING', phase: 'SCORING', numHumanScores: 2, numAwaitingHuman: 0 });
    const view = ok(await gql(g.base, RUN, { id: run.id }, g.keys.a)).run;
    expect(view.records.edges.map((e: any) => e.node.scores.find((s: any) => s.metricId === tone.id))).toEqual([
      { metricId: tone.id, value: 5, passed: true, reasoning: 'kind', source: 'HUMAN', scoredBy: g.keyIds.a },
      { metricId: tone.id, value: 3, passed: false, reasoning: 'corrected', source: 'HUMAN', scoredBy: g.keyIds.a },
    ]);
    expect(view.aggregates.find((x: any) => x.metricId === tone.id)).toEqual({ metricId: tone.id, count: 2, passed: 1, passRate: 0.5, mean: 4 });
  });

  it('refuses values out of range, metrics that are not HUMAN, and metrics the run did not pin', async () => {
    const { tone, exact, records } = await fixture('a', 1);
    const recordId = records[0].id;
    expect(errorOf(await submit(g.keys.a, { recordId, metricId: tone.id, value: 7 }))).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', details: { field: 'value', outputType: 'INT', min: 1, max: 5 } },
      message: 'Score 7 is not a valid INT value: send an integer from 1 to 5.',
    });
    expect(errorOf(await submit(g.keys.a, { recordId, metricId: exact.id, value: 1 }))).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', details: { field: 'metricId' } } });
    const unpinned = await g.backend.runs.commands.createMetric({ projectId: g.projects.a, name: 'unpinned', evalType: 'HUMAN', outputType: 'BOOLEAN' });
    expect(errorOf(await submit(g.keys.a, { recordId, metricId: unpinned.id, value: 1 }))).toMatchObject({ extensions: { code: 'METRIC_NOT_FOUND' } });
    await g.settled();
    expect(errorOf(await queue(g.keys.a, g.projects.a, exact.id))).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(errorOf(await gql(g.base, 'query ($p: ID!, $m: ID!) { reviewQueue(projectId: $p, metricId: $m, first: 5000) { totalCount } }', { p: g.projects.a, m: tone.id }, g.keys.a))).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(ok(await gql(g.base, RUN, { id: records[0].runId }, g.keys.a)).run).toMatchObject({ numHumanScores: 0, numAwaitingHuman: 1 });
  });

  it('answers for another project\'s records and metrics exactly as for missing ones', async () => {
    const theirs = await fixture('a', 1);
    const mine = await fixture('b', 1);
    const missing = '00000000-0000-4000-8000-000000000000';
    const mask = (res: GqlResponse, ...ids: string[]) => ids.reduce((text, id) => text.split(id).join('<id>'), JSON.stringify(errorOf(res)));

    // B's key on A's record (with A's metric, or its own) and on a record that exists nowhere.
    const foreignRecord = await submit(g.keys.b, { recordId: theirs.records[0].id, metricId: theirs.tone.id, value: 4 });
    const missingRecord = await submit(g.keys.b, { recordId: missing, metricId: theirs.tone.id, value: 4 });
    expect(errorOf(foreignRecord)).toMatchObject({ extensions: { code: 'RECORD_NOT_FOUND' } });
    expect(mask(foreignRecord, theirs.records[0].id)).toBe(mask(missingRecord, missing));
    // B's own record with A's metric, and with a metric that exists nowhere.
    const foreignMetric = await submit(g.keys.b, { recordId: mine.records[0].id, metricId: theirs.tone.id, value: 4 });
    const missingMetric = await submit(g.keys.b, { recordId: mine.records[0].id, metricId: missing, value: 4 });
    expect(errorOf(foreignMetric)).toMatchObject({ extensions: { code: 'METRIC_NOT_FOUND' } });
    expect(mask(foreignMetric, theirs.tone.id)).toBe(mask(missingMetric, missing));

    // The queue: A's project, and A's metric in B's project.
    const foreignProject = await queue(g.keys.b, g.projects.a, theirs.tone.id);
    const missingProject = await queue(g.keys.b, missing, theirs.tone.id);
    expect(errorOf(foreignProject)).toMatchObject({ extensions: { code: 'PROJECT_NOT_FOUND' } });
    expect(mask(foreignProject, g.projects.a)).toBe(mask(missingProject, missing));
    const foreignQueueMetric = await queue(g.keys.b, g.projects.b, theirs.tone.id);
    const missingQueueMetric = await queue(g.keys.b, g.projects.b, missing);
    expect(errorOf(foreignQueueMetric)).toMatchObject({ extensions: { code: 'METRIC_NOT_FOUND' } });
    expect(mask(foreignQueueMetric, theirs.tone.id)).toBe(mask(missingQueueMetric, missing));

    // Nothing of A's changed; B's own work goes through.
    expect((await g.backend.store.readStream(`record-${theirs.records[0].id}`)).map((e) => e.type)).toEqual(['ScoreRecorded']);
    expect(ok(await submit(g.keys.b, { recordId: mine.records[0].id, metricId: mine.tone.id, value: 1 })).submitScore).toMatchObject({ scoredBy: g.keyIds.b });
    expect(ok(await queue(g.keys.a, g.projects.a, theirs.tone.id)).reviewQueue.totalCount).toBe(1);
  });
});
