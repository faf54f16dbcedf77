/**
 * Issue 4: what LLM judges add to scores, what runs cost, and re-scoring. Additive: a new capability
 * extends the runs schema (see api-modules.ts).
 */
export const SCORING_TYPE_DEFS = /* GraphQL */ `
  extend type Score {
    "AI metrics: the model that answered, as the provider named it (null for other metrics)."
    judgeModel: String
    "AI metrics: tokens of the judge calls behind this outcome, prompt + completion (0 when answered from the judge cache)."
    tokens: Int
    promptTokens: Int
    completionTokens: Int
    "AI metrics: what those calls cost, from the provider's prices (0 when cached or the model has no price)."
    cost: Float
    "AI metrics: answered from the judge cache, without a model call."
    cached: Boolean
    "The re-score round of this outcome: 0 for the run's first scoring, then 1, 2… for each rescoreRun."
    round: Int!
  }

  type MetricCost {
    metricId: ID!
    "Judge tokens (prompt + completion) spent on this metric, superseded re-score rounds included."
    tokens: Float!
    cost: Float!
  }

  "What a run spent. Prices per model come from the LLM provider configuration (ASSAY_LLM_CONFIG)."
  type RunCost {
    "Tokens of the system calls behind the records (runs the server executes)."
    systemTokens: Float!
    systemCost: Float!
    "Tokens of the judge calls of AI metrics."
    judgeTokens: Float!
    judgeCost: Float!
    "systemCost + judgeCost."
    total: Float!
    "Judge tokens and cost per metric of the run, in run order."
    perMetric: [MetricCost!]!
  }

  extend type Run {
    cost: RunCost!
  }

  extend type Mutation {
    """
    Scores the run's existing records again with the latest versions of metricIds (default: every
    metric of the run that is not HUMAN), without running the system again. HUMAN metrics are
    never re-scored: their scores stay. Unchanged records are answered from the judge cache unless
    bypassCache. The run shows the new versions at once and is SCORING until they are all scored.
    """
    rescoreRun(runId: ID!, metricIds: [ID!], bypassCache: Boolean): Run!
  }
`;
