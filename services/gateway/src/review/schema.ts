/**
 * Human review (issue 4): people score records for HUMAN metrics and find the records still
 * waiting for them. Names are a public contract: add freely, never rename or remove.
 */
export const REVIEW_TYPE_DEFS = /* GraphQL */ `
  "Who gave a score: AUTOMATIC (a heuristic, CODE or an LLM judge) or HUMAN (submitScore)."
  enum ScoreSource {
    AUTOMATIC
    HUMAN
  }

  extend type Score {
    source: ScoreSource!
    "HUMAN scores: the id of the API key that gave the score (or last corrected it)."
    scoredBy: ID
  }

  extend type Record {
    "The run the record belongs to."
    run: Run
  }

  extend type Run {
    "HUMAN metrics of the run."
    numHumanMetrics: Int!
    "Scores people gave (one per record and HUMAN metric at most; corrections do not add any)."
    numHumanScores: Int!
    "(record, HUMAN metric) pairs still waiting for a person: the run stays SCORING until this is 0."
    numAwaitingHuman: Int!
  }

  input SubmitScoreInput {
    recordId: ID!
    "A HUMAN metric the record's run pinned."
    metricId: ID!
    "BOOLEAN: 1 (true, passes) or 0 (false); INT: an integer from 1 to 5; FLOAT: 0 to 1. Passes from the metric's passingThreshold."
    value: Float!
    "Why; shown with the score (at most 20,000 characters)."
    reasoning: String
  }

  "Records waiting for a person's score for one HUMAN metric, oldest first."
  type ReviewQueueConnection {
    edges: [RecordEdge!]!
    pageInfo: PageInfo!
    "How many records of the project wait for this metric."
    totalCount: Int!
  }

  extend type Query {
    "Records of the project whose run pinned this HUMAN metric and that no person has scored for it yet, oldest first, with their run, inputs, outputs, expected value and existing scores. first: 0 to 1000, default 50."
    reviewQueue(projectId: ID!, metricId: ID!, first: Int, after: String): ReviewQueueConnection!
  }

  extend type Mutation {
    "A person's score of a record for a HUMAN metric of its run. Submitting again for the same record and metric corrects the score (the change is kept as an event, with the previous value). Returns once queries show it."
    submitScore(input: SubmitScoreInput!): Score!
  }
`;
