/** Runs the server executes, and the playground (issue 4). */
export const EXECUTION_TYPE_DEFS = /* GraphQL */ `
  "Where a run is in its life, beside its status."
  enum RunPhase {
    "No output yet: a kickoff whose executions have not started, or a run made with createRun without records."
    AWAITING_EXECUTION
    "The server is still running the system for some testcases (kickoffRun)."
    EXECUTING
    "A record lacks an outcome from an automatic metric."
    SCORING
    "Only scores a person gives (HUMAN metrics) are missing."
    AWAITING_HUMAN
    "Nothing is left to do (status says whether every outcome is a score)."
    DONE
  }

  "Who started a run."
  enum RunSource {
    "createRun (the default): a client sends the records."
    API
    "kickoffRun with a system version and a testset: the server executes it."
    KICKOFF
    "kickoffRun with the playground's inputs (an inline config, inline testcases or chosen testcases)."
    PLAYGROUND
    "createRun with source CI: a CI job sends the records."
    CI
  }

  extend input CreateRunInput {
    "API (default) or CI. Runs the server executes come from kickoffRun."
    source: RunSource
  }

  type ExecutionTokens {
    prompt: Int!
    completion: Int!
  }

  "The system call behind a record's outputs (runs the server executes)."
  type Execution {
    "The model that answered, as the provider names it."
    model: String!
    provider: String
    tokens: ExecutionTokens!
    "From the provider's configured prices; 0 when the model has none."
    cost: Float!
    "The model's answer time (the successful attempt)."
    latencyMs: Float!
  }

  "An execution that failed for good: no record for this (testcase, trial); the run is ERROR."
  type ExecutionFailure {
    recordId: ID!
    testcaseId: ID
    trial: Int!
    "LLM_UNAVAILABLE, LLM_TIMEOUT, LLM_RATE_LIMITED, LLM_BAD_REQUEST, TEMPLATE_RENDER_FAILED, RECORD_TOO_LARGE…"
    code: String!
    "What went wrong and what to do about it."
    reason: String!
    attempts: Int!
    createdAt: DateTime!
  }

  extend type Run {
    phase: RunPhase!
    source: RunSource!
    "How many times each testcase runs (runs the server executes)."
    trials: Int
    numExecutionFailures: Int!
    "Executions that failed for good, oldest first. first: 1 to 1000, default 100."
    executionFailures(first: Int): [ExecutionFailure!]!
  }

  extend type Record {
    "0-based trial of the testcase (runs the server executes); null for records sent by a client."
    trial: Int
    execution: Execution
  }

  """
  What to execute. The system: systemVersionId (a prompt system version) or config (an inline prompt
  system config: {messages: [{role, content}], modelName, temperature, maxTokens, topP, provider}).
  The testcases: testsetId (all of them), testsetId with testcaseIds (those), or testcases (inline,
  each {inputs: {...}, expected: ...}). Outputs are {output: <the model's answer>}.
  """
  input KickoffRunInput {
    projectId: ID!
    metricIds: [ID!]!
    testsetId: ID
    systemVersionId: ID
    config: JSON
    testcaseIds: [ID!]
    testcases: [JSON!]
    "How many times each testcase runs: 1 (default) to 100."
    trials: Int
    "The same key in the same project returns the same run (no second run, no second execution), also under concurrent calls."
    idempotencyKey: String
    notes: String
  }

  "A few testcases (at most 20) run and scored at once, without a run. Same inputs as kickoffRun."
  input PlaygroundInput {
    projectId: ID!
    systemVersionId: ID
    config: JSON
    testsetId: ID
    testcaseIds: [ID!]
    testcases: [JSON!]
    "Heuristic and CODE metrics are scored here; AI metrics by the judge when this server has one; HUMAN metrics are not."
    metricIds: [ID!]
  }

  type PlaygroundScore {
    metricId: ID!
    metricVersion: Int!
    value: Float
    passed: Boolean
    reasoning: String
    error: ScoreError
  }

  type PlaygroundItem {
    "0-based position among the session's testcases."
    index: Int!
    testcaseId: ID
    inputs: JSON
    expected: JSON
    "{output: <the model's answer>}; null when the call failed (see error)."
    outputs: JSON
    execution: Execution
    error: ScoreError
    scores: [PlaygroundScore!]!
  }

  enum PlaygroundUpdateKind {
    "Once, first: the session is running."
    STARTED
    "A testcase's output (or its error)."
    OUTPUT
    "A testcase's scores."
    SCORES
    "Last: every item with its scores."
    DONE
  }

  type PlaygroundUpdate {
    sessionId: ID!
    kind: PlaygroundUpdateKind!
    numItems: Int!
    "Items with their scores so far."
    numDone: Int!
    "OUTPUT and SCORES: the item concerned."
    item: PlaygroundItem
    "DONE: every item, in input order."
    items: [PlaygroundItem!]
  }

  extend type Mutation {
    "Creates a run and executes the system for every testcase (× trials) on the server, then scores the records."
    kickoffRun(input: KickoffRunInput!): Run!
    "A new run with the same testset, system version (or inline config and testcases), metrics (pinned at their current versions) and trials; the same source."
    runAgain(runId: ID!): Run!
  }

  extend type Subscription {
    "Runs a few testcases and streams their outputs and scores; nothing is stored (no run). Stopping the subscription cancels its model calls."
    playground(input: PlaygroundInput!): PlaygroundUpdate!
  }
`;
