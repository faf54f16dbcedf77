/** API keys (issue 3). Extends the runs schema's Query and Mutation. */
export const ACCESS_TYPE_DEFS = /* GraphQL */ `
  "An API key as listed: never the key itself, which only createApiKey shows, once."
  type ApiKey {
    "The key's public id: the part after assay_ (assay_<id>_<secret>)."
    id: ID!
    "How the key starts (assay_<id>), to recognise it."
    prefix: String!
    name: String!
    "The one project the key reaches; null for an admin key, which reaches every project."
    projectId: ID
    createdAt: DateTime!
    "When it was revoked; null while it works."
    revokedAt: DateTime
  }

  "A key just created: the only time Assay shows it. Store it now; Assay keeps only its SHA-256."
  type NewApiKey {
    id: ID!
    "Send it as Authorization: Bearer <key>."
    key: String!
    prefix: String!
    name: String!
    projectId: ID
    createdAt: DateTime!
  }

  input CreateApiKeyInput {
    "The project the key reaches. Null or absent: an admin key (only an admin key may create one)."
    projectId: ID
    "What or who uses the key, e.g. \\"CI\\"."
    name: String!
  }

  extend type Query {
    "Keys of a project, oldest first, revoked ones included. projectId null or absent: the admin keys (admin only)."
    apiKeys(projectId: ID): [ApiKey!]!
  }

  extend type Mutation {
    "A new key for a project (an admin key, or a key of that project, may do this) or, with no projectId, an admin key (admin only)."
    createApiKey(input: CreateApiKeyInput!): NewApiKey!
    "Revokes a key: refused from the next call on (on other gateway replicas within 2 s). Revoking a revoked key returns it unchanged."
    revokeApiKey(id: ID!): ApiKey!
  }
`;
