/**
 * The public GraphQL schema (schema-first). Kept as a string in a TS file so that builds need no
 * asset copying. Names here are a public contract: add fields freely, never rename or remove.
 */
export const GATEWAY_TYPE_DEFS = /* GraphQL */ `
  "Any JSON value: object, array, string, number, boolean or null."
  scalar JSON

  "An instant, as an ISO-8601 string in UTC (e.g. 2025-01-31T12:00:00.000Z)."
  scalar DateTime

  enum EvalType {
    HEURISTIC
    AI
    HUMAN
  }

  enum OutputType {
    BOOLEAN
    INT
    FLOAT
  }

  enum HeuristicKind {
    EXACT_MATCH
    CONTAINS
    REGEX
    JSON_VALID
    LEVENSHTEIN
    NUMERIC_CLOSE
  }

  enum RunStatus {
    PENDING
    SCORING
    COMPLETED
    ERROR
  }

  type Project {
    id: ID!
    name: String!
    createdAt: DateTime!
  }

  type Heuristic {
    kind: HeuristicKind!
    "Dot path into the record's outputs; null means the whole value."
    outputField: String
    "Dot path into the record's expected value; null means the whole value."
    expectedField: String
    "Kind-specific parameters: REGEX {pattern, flags}, NUMERIC_CLOSE {tolerance}, CONTAINS/EXACT_MATCH {caseSensitive}."
    params: JSON
  }

  type Metric {
    id: ID!
    projectId: ID!
    name: String!
    version: Int!
    evalType: EvalType!
    outputType: OutputType!
    passingThreshold: Float!
    heuristic: Heuristic
  }

  "A metric exactly as the run pinned it."
  type RunMetric {
    id: ID!
    name: String!
    version: Int!
    evalType: EvalType!
    outputType: OutputType!
    passingThreshold: Float!
  }

  type MetricAggregate {
    metricId: ID!
    "Scores recorded."
    count: Int!
    "passed / count; null before the first score."
    passRate: Float
    "Mean value; null before the first score."
    mean: Float
    passed: Int!
    failed: Int!
  }

  type ScoreError {
    code: String!
    reason: String!
  }

  type Score {
    metricId: ID!
    metricVersion: Int!
    value: Float
    passed: Boolean
    reasoning: String
    "Set when scoring failed for good."
    error: ScoreError
  }

  type Record {
    id: ID!
    runId: ID!
    testcaseId: ID
    inputs: JSON
    outputs: JSON
    expected: JSON
    createdAt: DateTime!
    scores: [Score!]!
  }

  type PageInfo {
    "Pass as 'after' to get the next page; null when the page is empty."
    endCursor: String
    hasNextPage: Boolean!
  }

  type RecordEdge {
    cursor: String!
    node: Record!
  }

  type RecordConnection {
    edges: [RecordEdge!]!
    pageInfo: PageInfo!
  }

  type Run {
    id: ID!
    projectId: ID!
    project: Project
    status: RunStatus!
    numRecords: Int!
    numScores: Int!
    numFailures: Int!
    notes: String!
    createdAt: DateTime!
    "When the run's view last changed."
    updatedAt: DateTime!
    "When the newest event reflected in this view was appended."
    lastEventAt: DateTime!
    "The run stream's version this view reflects (the run's own events: its creation, records added to it, notes); scores do not move it."
    streamVersion: Int!
    "How many events of the log this view reflects: grows with every change of the run (scores, a re-score, a failure included), so views can be ordered by it."
    revision: Int!
    metrics: [RunMetric!]!
    "One entry per metric of the run, in run order."
    aggregates: [MetricAggregate!]!
    "Records in the order they were added. first: 0 to 1000, default 50."
    records(first: Int, after: String): RecordConnection!
  }

  type RunEdge {
    cursor: String!
    node: Run!
  }

  type RunConnection {
    edges: [RunEdge!]!
    pageInfo: PageInfo!
  }

  input CreateProjectInput {
    name: String!
  }

  input HeuristicInput {
    kind: HeuristicKind!
    outputField: String
    expectedField: String
    params: JSON
  }

  input CreateMetricInput {
    projectId: ID!
    name: String!
    evalType: EvalType!
    outputType: OutputType!
    heuristic: HeuristicInput
    "BOOLEAN: ignored (true passes); INT: 1 to 5; FLOAT: 0 to 1. A score passes when value >= threshold."
    passingThreshold: Float
  }

  input CreateRunInput {
    projectId: ID!
    metricIds: [ID!]!
    notes: String
  }

  input RecordInput {
    "Your own id for the test case, if any."
    testcaseId: ID
    inputs: JSON
    outputs: JSON
    expected: JSON
  }

  type Query {
    project(id: ID!): Project
    metric(id: ID!): Metric
    "Null when no run has this id."
    run(id: ID!): Run
    "Runs of a project, newest first. first: 0 to 1000, default 50."
    runs(projectId: ID!, first: Int, after: String): RunConnection!
  }

  type Mutation {
    createProject(input: CreateProjectInput!): Project!
    createMetric(input: CreateMetricInput!): Metric!
    createRun(input: CreateRunInput!): Run!
    """
    Adds up to 1,000 records in one transaction: all or none. With an idempotencyKey, repeating
    the call with the same key (a retry after a timeout) adds nothing and answers the same record ids.
    """
    addRecords(runId: ID!, records: [RecordInput!]!, idempotencyKey: String): [Record!]!
    updateRunNotes(runId: ID!, notes: String!): Run!
  }

  type Subscription {
    "The run's current state first, then every change (coalesced: intermediate states may be skipped, never reordered)."
    runUpdated(runId: ID!): Run!
  }
`;
