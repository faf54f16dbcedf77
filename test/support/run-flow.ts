import { gql } from './graphql-client';

export const RUN_FIELDS = 'id status numRecords numScores numFailures streamVersion lastEventAt';

export interface RunSnapshot {
  id: string;
  status: 'PENDING' | 'SCORING' | 'COMPLETED' | 'ERROR';
  numRecords: number;
  numScores: number;
  numFailures: number;
  streamVersion: number;
  lastEventAt: string;
}

/** A project with two heuristic metrics (exact match on `answer`, Levenshtein similarity) and a run using both. */
export async function createRunWithTwoMetrics(httpUrl: string, notes = 'e2e') {
  const { createProject } = await gql(httpUrl, 'mutation { createProject(input: { name: "e2e" }) { id } }');
  const metric = (input: string) => gql(httpUrl, `mutation ($p: ID!) { createMetric(input: { projectId: $p, ${input} }) { id name } }`, { p: createProject.id });
  const exact = (await metric('name: "exact", evalType: HEURISTIC, outputType: BOOLEAN, heuristic: { kind: EXACT_MATCH, outputField: "answer", expectedField: "answer" }')).createMetric;
  const similar = (await metric('name: "similar", evalType: HEURISTIC, outputType: FLOAT, heuristic: { kind: LEVENSHTEIN, outputField: "answer", expectedField: "answer" }, passingThreshold: 0.8')).createMetric;
  const { createRun } = await gql(httpUrl, `mutation ($p: ID!, $m: [ID!]!, $n: String) { createRun(input: { projectId: $p, metricIds: $m, notes: $n }) { ${RUN_FIELDS} } }`, {
    p: createProject.id,
    m: [exact.id, similar.id],
    n: notes,
  });
  return { projectId: createProject.id as string, metricIds: [exact.id, similar.id] as string[], run: createRun as RunSnapshot };
}

/** Test case i: every third answer is wrong, so both metrics see passes and failures. */
export function makeRecord(i: number) {
  const answer = `answer number ${i}`;
  return {
    testcaseId: `tc-${i}`,
    inputs: { question: `question ${i}, with "quotes", commas\nand a newline` },
    outputs: { answer: i % 3 === 0 ? `${answer}!` : answer },
    expected: { answer },
  };
}

export async function addRecordsInBatches(httpUrl: string, runId: string, total: number, batchSize: number, offset = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < total; start += batchSize) {
    const records = Array.from({ length: Math.min(batchSize, total - start) }, (_, i) => makeRecord(offset + start + i));
    const { addRecords } = await gql(httpUrl, 'mutation ($r: ID!, $records: [RecordInput!]!) { addRecords(runId: $r, records: $records) { id } }', { r: runId, records });
    ids.push(...addRecords.map((record: { id: string }) => record.id));
  }
  return ids;
}

export interface RecordWithScores {
  id: string;
  testcaseId: string;
  inputs: unknown;
  outputs: unknown;
  expected: unknown;
  scores: { metricId: string; metricVersion: number; value: number | null; passed: boolean | null; reasoning: string | null }[];
}

/** Every record of the run, through the paged GraphQL connection. */
export async function allRecords(httpUrl: string, runId: string): Promise<RecordWithScores[]> {
  const records: RecordWithScores[] = [];
  let after: string | null = null;
  for (;;) {
    const { run }: any = await gql(
      httpUrl,
      `query ($id: ID!, $after: String) { run(id: $id) { records(first: 500, after: $after) {
         edges { node { id testcaseId inputs outputs expected scores { metricId metricVersion value passed reasoning } } }
         pageInfo { endCursor hasNextPage } } } }`,
      { id: runId, after },
    );
    records.push(...run.records.edges.map((edge: { node: RecordWithScores }) => edge.node));
    if (!run.records.pageInfo.hasNextPage) return records;
    after = run.records.pageInfo.endCursor;
  }
}

/** Record ids lacking a score for some metric, or holding more than one for it. */
export function scoreAnomalies(records: RecordWithScores[], metricIds: string[]) {
  const missing: string[] = [];
  const doubled: string[] = [];
  for (const record of records) {
    for (const metricId of metricIds) {
      const count = record.scores.filter((score) => score.metricId === metricId).length;
      if (count === 0) missing.push(`${record.id}/${metricId}`);
      if (count > 1) doubled.push(`${record.id}/${metricId}`);
    }
  }
  return { missing, doubled };
}
