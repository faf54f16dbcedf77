/** Systems under test and their versions (issue 3). Extends the runs schema's Query and Mutation. */
export const SYSTEMS_TYPE_DEFS = /* GraphQL */ `
  "An immutable version of a system: its config never changes."
  type SystemVersion {
    id: ID!
    systemId: ID!
    system: System
    projectId: ID!
    name: String!
    "For a prompt system: {messages: [{role, content}], modelName, temperature, maxTokens, topP}; content is a Jinja template over the testcase's inputs."
    config: JSON!
    "1 for the system's first version."
    number: Int!
    createdAt: DateTime!
  }

  type System {
    id: ID!
    projectId: ID!
    "Unique in its project (compared without case)."
    name: String!
    description: String!
    productionVersionId: ID
    productionVersion: SystemVersion
    "Oldest first."
    versions: [SystemVersion!]!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  input CreateSystemInput {
    projectId: ID!
    name: String!
    description: String
  }

  input CreateSystemVersionInput {
    systemId: ID!
    "Unique in the system. Absent: v<n>."
    name: String
    "A JSON object. With messages it is a prompt system's config and is checked as one (SYSTEM_CONFIG_INVALID)."
    config: JSON!
  }

  extend type Query {
    "Null when no system has this id."
    system(id: ID!): System
    "Oldest first."
    systems(projectId: ID!): [System!]!
    "Null when no system version has this id."
    systemVersion(id: ID!): SystemVersion
  }

  extend type Mutation {
    createSystem(input: CreateSystemInput!): System!
    "Versions are immutable: a config equal (as JSON, key order aside) to an existing version's returns that version."
    createSystemVersion(input: CreateSystemVersionInput!): SystemVersion!
    setProductionVersion(systemId: ID!, versionId: ID!): System!
  }
`;
