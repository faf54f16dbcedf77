/** Testsets and testcases (issue 3). Extends the runs schema's Query, Mutation and Run. */
export const TESTSETS_TYPE_DEFS = /* GraphQL */ `
  "Which top-level fields of a testcase are inputs, which the expected output, which metadata. Fields not mapped count as metadata."
  type FieldMapping {
    inputs: [String!]!
    expected: [String!]!
    metadata: [String!]!
  }

  input FieldMappingInput {
    inputs: [String!]
    expected: [String!]
    metadata: [String!]
  }

  "Where a testcase fails the testset's JSON Schema: a JSON Pointer into jsonData, and what is wrong there."
  type ValidationError {
    path: String!
    message: String!
  }

  type Testcase {
    id: ID!
    testsetId: ID!
    "The testcase as given: a JSON object, field order kept."
    jsonData: JSON!
    "The fields mapped as inputs."
    inputs: JSON!
    "The fields mapped as expected."
    expected: JSON!
    "The fields mapped as metadata, and every field not mapped."
    metadata: JSON!
    "Against the testset's current JSON Schema; empty when the testcase is valid. A testcase that fails the schema is kept, with these."
    validationErrors: [ValidationError!]!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type TestcaseEdge {
    cursor: String!
    node: Testcase!
  }

  type TestcaseConnection {
    edges: [TestcaseEdge!]!
    pageInfo: PageInfo!
  }

  type Testset {
    id: ID!
    projectId: ID!
    name: String!
    description: String!
    "A JSON Schema (draft 2020-12) every testcase is checked against."
    jsonSchema: JSON!
    fieldMapping: FieldMapping!
    "Grows by one whenever jsonSchema changes."
    schemaRevision: Int!
    numTestcases: Int!
    "Top-level fields of the testcases in order of first appearance: the CSV export's columns after id."
    fields: [String!]!
    createdAt: DateTime!
    updatedAt: DateTime!
    "Testcases in the order they were added. first: 0 to 1000, default 50."
    testcases(first: Int, after: String): TestcaseConnection!
  }

  input CreateTestsetInput {
    projectId: ID!
    name: String!
    description: String
    "A JSON Schema (draft 2020-12). Absent: {} (any object). An invalid schema is refused (JSON_SCHEMA_INVALID, with every error)."
    jsonSchema: JSON
    "Absent: every field is metadata. When the schema declares properties, only those fields can be mapped."
    fieldMapping: FieldMappingInput
  }

  "Absent fields stay as they are. A new jsonSchema without a fieldMapping drops mappings to fields the new schema no longer declares."
  input UpdateTestsetInput {
    name: String
    description: String
    jsonSchema: JSON
    fieldMapping: FieldMappingInput
  }

  input TestcaseInput {
    "The testcase: a JSON object of fields."
    jsonData: JSON!
  }

  extend type Query {
    "Null when no testset has this id."
    testset(id: ID!): Testset
    "Oldest first."
    testsets(projectId: ID!): [Testset!]!
  }

  extend type Mutation {
    createTestset(input: CreateTestsetInput!): Testset!
    updateTestset(id: ID!, input: UpdateTestsetInput!): Testset!
    "Adds up to 1000 testcases in one transaction: all or none. Testcases that fail the schema are added with their validationErrors. For files, POST /testsets/{id}/import."
    addTestcases(testsetId: ID!, items: [TestcaseInput!]!): [Testcase!]!
  }
`;
