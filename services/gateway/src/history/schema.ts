/** History of metrics across runs, and comparison of two runs (issue 4, item 8). */
export const HISTORY_TYPE_DEFS = /* GraphQL */ `
  extend type Query {
    """
    Per metric (in the order asked), one point per run of the project that pinned it, oldest
    first: the run's pass rate and mean from its aggregates, for charts. A metric edited into new
    versions is still one series (each point says the version its run pinned). from: runs created
    at or after it; to: runs created before it. At most 50 metric ids; an id the project does not
    know is METRIC_NOT_FOUND.
    """
    runHistory(projectId: ID!, metricIds: [ID!]!, from: DateTime, to: DateTime): [MetricHistory!]!

    """
    Compares run (current) with baseRun, record by record: records are paired by testcase id and
    trial (records without a testcase id cannot be paired). Both runs must be of one project
    (else RUN_NOT_FOUND, as for a missing run). Compares the metrics both runs pinned.
    """
    compareRuns(baseRunId: ID!, runId: ID!): RunComparison!
  }

  type MetricHistory {
    metricId: ID!
    "The metric's name now."
    metricName: String!
    points: [HistoryPoint!]!
  }

  type HistoryPoint {
    runId: ID!
    runCreatedAt: DateTime!
    "The metric version the run pinned."
    metricVersion: Int!
    "Scores recorded."
    count: Int!
    passed: Int!
    "Scoring failures (not failing scores)."
    failed: Int!
    "passed / count; null before the first score."
    passRate: Float
    "Mean value; null before the first score."
    mean: Float
  }

  type RunComparison {
    baseRun: Run!
    run: Run!
    "Pairs of records with the same testcase id and trial."
    pairedRecords: Int!
    "Records of either run without a partner: no testcase id, a testcase (and trial) the other run lacks, or a repeat of one already paired."
    unpairedRecords: Int!
    unpairedBaseRecords: Int!
    unpairedCurrentRecords: Int!
    "The metrics both runs pinned, in the current run's order."
    metrics: [MetricComparison!]!
  }

  "A run's aggregate of one metric over all its records (as Run.aggregates)."
  type ComparedAggregate {
    count: Int!
    passRate: Float
    mean: Float
  }

  "current − base; null when either side has no score yet."
  type AggregateDelta {
    passRate: Float
    mean: Float
  }

  enum SignificanceMethod {
    "INT and FLOAT metrics: paired bootstrap of the mean difference (seeded, reproducible)."
    PAIRED_BOOTSTRAP
    "BOOLEAN metrics with fewer than 25 discordant pairs: McNemar's exact binomial test."
    MCNEMAR_EXACT
    "BOOLEAN metrics with 25 discordant pairs or more: McNemar's chi-square test with continuity correction."
    MCNEMAR_CHI_SQUARE
  }

  "Computed over the paired records that have a score (not a failure) from the metric in both runs."
  type Significance {
    method: SignificanceMethod!
    "Pairs the figures are computed from."
    pairs: Int!
    "current − base over those pairs: the mean difference (bootstrap) or the difference of pass rates (McNemar); null without pairs."
    delta: Float
    "Two-sided p-value of 'no change'; null when there is nothing to test (no pair; bootstrap: fewer than 2)."
    pValue: Float
    "95% confidence interval of delta: bootstrap percentile interval, or Wald interval of paired proportions (McNemar)."
    ciLow: Float
    ciHigh: Float
    "McNemar's chi-square statistic; null otherwise."
    statistic: Float
    "Bootstrap resamples (2,000); null for McNemar."
    resamples: Int
    "Pairs that passed in base and fail now (McNemar's b)."
    discordantBaseOnly: Int!
    "Pairs that failed in base and pass now (McNemar's c)."
    discordantCurrentOnly: Int!
  }

  type TestcaseChange {
    testcaseId: ID!
    "0 for records without a trial."
    trial: Int!
    baseValue: Float!
    value: Float!
    basePassed: Boolean!
    passed: Boolean!
  }

  type MetricComparison {
    metricId: ID!
    "The name the current run pinned."
    metricName: String!
    outputType: OutputType!
    "The metric versions each run pinned."
    baseVersion: Int!
    version: Int!
    base: ComparedAggregate!
    current: ComparedAggregate!
    delta: AggregateDelta!
    significance: Significance!
    numRegressed: Int!
    numImproved: Int!
    "Passed in base, fail now (INT, FLOAT: fell below the passing threshold); largest drop first. first: 0 to 10000, default 1000."
    regressed(first: Int): [TestcaseChange!]!
    "Failed in base, pass now; largest gain first. first: 0 to 10000, default 1000."
    improved(first: Int): [TestcaseChange!]!
  }
`;
