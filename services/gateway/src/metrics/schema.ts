/**
 * Metrics (issue 3): versions, the AI / HUMAN definitions, CODE heuristics and built-in templates.
 * The Metric type, createMetric and metric(id) come from the runs module (schema.ts); this extends
 * them. Names are a public contract: add freely, never rename or remove.
 */
export const METRICS_TYPE_DEFS = /* GraphQL */ `
  extend enum HeuristicKind {
    "heuristic.code defines a JavaScript function score({inputs, outputs, expected}) returning {score, reasoning}; it runs in a sandbox (no file system, network, process or modules) under a time and memory limit. Any outputType."
    CODE
  }

  extend type Heuristic {
    "CODE only: the JavaScript source that defines score."
    code: String
  }

  extend input HeuristicInput {
    "CODE only: JavaScript that defines function score({ inputs, outputs, expected }) { return { score, reasoning } }. score is a boolean (BOOLEAN), an integer 1-5 (INT) or a number 0-1 (FLOAT). Refused with CODE_INVALID (line, column) when it does not compile."
    code: String
  }

  extend type Metric {
    description: String!
    "What a good output looks like: shown to a person scoring by hand, and to the judge as {{guidelines}}."
    guidelines: String!
    "AI only: the judge prompt, a Jinja template over inputs, outputs, expected and guidelines."
    promptTemplate: String
    "AI only: the judge model; null means the server's default."
    evalModelName: String
    "AI only: the judge's temperature (0 to 2); null means the default."
    temperature: Float
    "When version 1 was created."
    createdAt: DateTime!
    "When the current version was created."
    updatedAt: DateTime!
    "Every version, oldest first."
    versions: [MetricVersion!]!
  }

  "One version of a metric, as it was defined. Runs that pinned it are scored with exactly this."
  type MetricVersion {
    metricId: ID!
    version: Int!
    name: String!
    description: String!
    guidelines: String!
    evalType: EvalType!
    outputType: OutputType!
    passingThreshold: Float!
    heuristic: Heuristic
    promptTemplate: String
    evalModelName: String
    temperature: Float
    createdAt: DateTime!
  }

  extend input CreateMetricInput {
    description: String
    "What a good output looks like (for AI and HUMAN metrics especially)."
    guidelines: String
    "AI metrics (required): Jinja template of the judge prompt: {{inputs.x}}, {{outputs.x}}, {{expected.x}}, {{guidelines}}, {% if %}, {% for %}, filters such as dump. Refused with TEMPLATE_INVALID (line, column) when it does not parse or names another variable."
    promptTemplate: String
    "AI metrics: the judge model (default: the server's)."
    evalModelName: String
    "AI metrics: 0 to 2."
    temperature: Float
  }

  "Changes to a metric: each call that changes something saves version n+1 with the whole new definition. Absent fields are kept; null puts a field back to its default. evalType and outputType cannot change (create another metric)."
  input UpdateMetricInput {
    metricId: ID!
    name: String
    description: String
    guidelines: String
    passingThreshold: Float
    "Replaces the whole heuristic (HEURISTIC metrics)."
    heuristic: HeuristicInput
    promptTemplate: String
    evalModelName: String
    temperature: Float
  }

  "A built-in AI metric to start from: create a metric with its fields, then adapt them."
  type MetricTemplate {
    key: String!
    name: String!
    description: String!
    evalType: EvalType!
    outputType: OutputType!
    "Asks the judge for a JSON answer {\\"reasoning\\": …, \\"score\\": …}."
    promptTemplate: String!
    "The rubric, rendered into the prompt by {{guidelines}}."
    guidelines: String!
    passingThreshold: Float!
  }

  extend type Run {
    "The metric versions this run pinned when it was created, in run order: its records are scored with these, whatever edits followed."
    metricVersions: [MetricVersion!]!
  }

  extend type Query {
    "The project's metrics at their current versions, by name."
    metrics(projectId: ID!): [Metric!]!
    "Built-in AI metric templates: correctness, faithfulness, relevance, conciseness, PII leakage, toxicity."
    metricTemplates: [MetricTemplate!]!
  }

  extend type Mutation {
    "Saves the next version of a metric (none when nothing changes). Runs keep the versions they pinned."
    updateMetric(input: UpdateMetricInput!): Metric!
  }
`;
