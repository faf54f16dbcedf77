import { get as httpGet, request as httpRequest } from 'node:http';
import { generateApiKey } from '@assay/access';
import { boot, type Booted } from './boot';
import { auth, collect, gql, TEST_ADMIN_KEY, waitFor, wsClient } from './helpers';

/**
 * Authentication at the gateway, over the in-memory fakes: every way in (GraphQL over HTTP and
 * WebSocket, the file endpoints) needs a valid key, and says clearly what is wrong when it has none.
 * The isolation matrix over the real backend is test/e2e/isolation-matrix.e2e.spec.ts.
 */
describe('gateway authentication', () => {
  let g: Booted;

  beforeAll(async () => {
    g = await boot();
  });
  afterAll(async () => {
    await g.app.close();
  });

  async function projectWithKey(name = 'p') {
    const project = await g.runs.createProject({ name });
    const created = await gql(g.base, 'mutation ($p: ID!) { createApiKey(input: { projectId: $p, name: "ci" }) { id key prefix name projectId createdAt } }', { p: project.id });
    expect(created.body.errors).toBeUndefined();
    return { projectId: project.id, ...created.body.data.createApiKey } as { projectId: string; id: string; key: string; prefix: string };
  }

  const post = (body: unknown, headers: Record<string, string>) =>
    fetch(`${g.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('answers /graphql without a valid key with 401 UNAUTHENTICATED and says what is wrong', async () => {
    const { key: revokedKey, id: revokedId } = await projectWithKey();
    await gql(g.base, 'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', { id: revokedId });
    const cases: [string, Record<string, string>, RegExp][] = [
      ['no header', {}, /Send an API key: `Authorization: Bearer <key>`/],
      ['empty header', { authorization: '' }, /Send an API key/],
      ['another scheme', { authorization: `Basic ${TEST_ADMIN_KEY}` }, /must use the Bearer scheme/],
      ['a bare key', { authorization: TEST_ADMIN_KEY }, /must use the Bearer scheme/],
      ['malformed', { authorization: 'Bearer sk-not-an-assay-key' }, /malformed: Assay keys look like assay_<id>_<secret>/],
      ['truncated', { authorization: `Bearer ${TEST_ADMIN_KEY.slice(0, -1)}` }, /malformed/],
      ['unknown', { authorization: `Bearer ${generateApiKey().key}` }, /not valid: it was revoked or never existed/],
      ['wrong secret', { authorization: `Bearer ${TEST_ADMIN_KEY.slice(0, -1)}B` }, /not valid: it was revoked or never existed/],
      ['revoked', { authorization: `Bearer ${revokedKey}` }, /not valid: it was revoked or never existed/],
    ];
    for (const [what, headers, message] of cases) {
      for (const body of [{ query: '{ __schema { queryType { name } } }' }, { query: 'mutation { createProject(input: { name: "x" }) { id } }' }]) {
        const res = await post(body, headers);
        expect({ what, status: res.status }).toEqual({ what, status: 401 });
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="assay"');
        const json = await res.json();
        expect(json).toEqual({ errors: [{ message: expect.stringMatching(message), extensions: { code: 'UNAUTHENTICATED' } }] });
      }
    }
    // Unknown and revoked keys get the very same answer: nothing tells a revoked key from a made-up one.
    expect(g.runs.projects.size).toBeGreaterThan(0);
    expect([...g.runs.projects.values()].some((p) => p.name === 'x')).toBe(false);
  });

  it('refuses a request without a valid key before reading its body: a 10 MB body announced and never sent still gets its 401', async () => {
    for (const path of ['/graphql', '/testsets/any/import']) {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${g.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(10 * 2 ** 20) } }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.flushHeaders(); // headers only: the body never comes
        setTimeout(() => {
          req.destroy();
          reject(new Error(`no answer from ${path} within 5 s: the gateway is waiting for the body`));
        }, 5_000).unref();
      });
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('guards every path Apollo answers on, not just /graphql itself', async () => {
    for (const path of ['/graphql/', '/graphql/anything', '/GRAPHQL', '/Graphql/x/y', '/graphql?x=1']) {
      const res = await fetch(`${g.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }) });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
    }
  });

  it('accepts the scheme in any case', async () => {
    const res = await post({ query: '{ __typename }' }, { authorization: `bearer ${TEST_ADMIN_KEY}` });
    expect(res.status).toBe(200);
  });

  it('protects the file endpoints with the same 401, and leaves /healthz and /readyz open', async () => {
    const project = await g.runs.createProject({ name: 'csv' });
    const run = await g.runs.createRun({ projectId: project.id, metricIds: [] });
    const anonymous = await fetch(`${g.base}/runs/${run.id}/export.csv`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="assay"');
    expect(await anonymous.json()).toEqual({ errors: [{ message: expect.stringMatching(/Send an API key/), extensions: { code: 'UNAUTHENTICATED' } }] });
    const malformed = await fetch(`${g.base}/runs/${run.id}/export.csv`, { headers: { authorization: 'Bearer nope' } });
    expect(malformed.status).toBe(401);
    expect(((await malformed.json()) as any).errors[0].message).toMatch(/malformed/);
    // A route that does not exist is a plain 404 (no controller, so nothing to protect).
    expect((await fetch(`${g.base}/runs/${run.id}/export.tsv`)).status).toBe(404);
    const ok = await fetch(`${g.base}/runs/${run.id}/export.csv`, { headers: auth() });
    expect(ok.status).toBe(200);
    expect((await fetch(`${g.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${g.base}/readyz`)).status).toBe(200);
  });

  it('authenticates per request: a key revoked through the API is refused from the next call on', async () => {
    const { key, id } = await projectWithKey();
    expect((await gql(g.base, '{ __typename }', {}, key)).status).toBe(200);
    const revoked = await gql(g.base, 'mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }', { id }, key); // a key may revoke itself
    expect(revoked.body.data.revokeApiKey).toEqual({ id, revokedAt: expect.any(String) });
    const after = await gql(g.base, '{ __typename }', {}, key);
    expect(after.status).toBe(401);
  });

  describe('graphql-ws', () => {
    const closeOf = async (client: ReturnType<typeof wsClient>) => {
      const sub = collect(client, 'subscription { runUpdated(runId: "x") { id } }', {});
      await waitFor(() => sub.errors.length > 0 || sub.completed, 5_000, 'socket closed');
      await client.dispose();
      return sub.errors[0] as { code: number; reason: string };
    };

    it('refuses a connection without a key at connection_init, with close code 4401 and the reason', async () => {
      expect(await closeOf(wsClient(g.base, null))).toMatchObject({
        code: 4401,
        reason: 'UNAUTHENTICATED: send {"authorization": "Bearer <key>"} in the connection_init payload',
      });
    });

    it('refuses malformed, unknown and revoked keys', async () => {
      const { key, id } = await projectWithKey();
      await gql(g.base, 'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', { id });
      expect(await closeOf(wsClient(g.base, 'assay_nope'))).toMatchObject({ code: 4401, reason: expect.stringMatching(/^UNAUTHENTICATED: the API key is malformed/) });
      expect(await closeOf(wsClient(g.base, generateApiKey().key))).toMatchObject({ code: 4401, reason: expect.stringMatching(/^UNAUTHENTICATED: the API key is not valid/) });
      expect(await closeOf(wsClient(g.base, key))).toMatchObject({ code: 4401, reason: expect.stringMatching(/^UNAUTHENTICATED: the API key is not valid/) });
    });

    it('accepts {apiKey} as well as {authorization}, and closes the sockets of a key once it is revoked', async () => {
      const { projectId, key, id } = await projectWithKey();
      const run = await g.runs.createRun({ projectId, metricIds: [] });
      const { createClient } = await import('graphql-ws');
      const WebSocket = (await import('ws')).default;
      const client = createClient({ url: `${g.base.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { apiKey: key } });
      const sub = collect(client, 'subscription ($id: ID!) { runUpdated(runId: $id) { id } }', { id: run.id });
      await waitFor(() => sub.messages.length === 1, 5_000, 'snapshot');
      expect(sub.messages[0]).toEqual({ data: { runUpdated: { id: run.id } } });

      await gql(g.base, 'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', { id });
      await waitFor(() => sub.errors.length > 0, 6_000, 'socket closed after revocation');
      expect(sub.errors[0]).toMatchObject({ code: 4401, reason: expect.stringMatching(/not valid/) });
      await client.dispose();
    });
  });

  describe('API keys', () => {
    it('shows a key once: apiKeys has no key field, and lists keys with their prefix', async () => {
      const { projectId, id, key, prefix } = await projectWithKey('listed');
      expect(key).toMatch(/^assay_[a-z0-9]{12}_[A-Za-z0-9]{40}$/);
      expect(prefix).toBe(`assay_${id}`);
      expect(key.startsWith(`${prefix}_`)).toBe(true);
      const listed = await gql(g.base, 'query ($p: ID) { apiKeys(projectId: $p) { id prefix name projectId createdAt revokedAt } }', { p: projectId });
      expect(listed.body.data.apiKeys).toEqual([{ id, prefix, name: 'ci', projectId, createdAt: expect.any(String), revokedAt: null }]);
      expect(JSON.stringify(listed.body)).not.toContain(key);
      const secret = await gql(g.base, 'query ($p: ID) { apiKeys(projectId: $p) { key } }', { p: projectId });
      expect(secret.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const revoked = await gql(g.base, 'mutation ($id: ID!) { revokeApiKey(id: $id) { key } }', { id });
      expect(revoked.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('lets a project key manage its own project\'s keys, nothing more', async () => {
      const a = await projectWithKey('a');
      const b = await projectWithKey('b');
      const own = await gql(g.base, 'mutation ($p: ID!) { createApiKey(input: { projectId: $p, name: "rotated" }) { projectId key } }', { p: a.projectId }, a.key);
      expect(own.body.data.createApiKey.projectId).toBe(a.projectId);
      expect((await gql(g.base, '{ __typename }', {}, own.body.data.createApiKey.key)).status).toBe(200);

      const code = (res: { body: { errors?: { extensions?: { code?: string } }[] } }) => res.body.errors?.[0]?.extensions?.code;
      expect(code(await gql(g.base, 'mutation { createApiKey(input: { name: "root" }) { id } }', {}, a.key))).toBe('FORBIDDEN');
      expect(code(await gql(g.base, 'mutation { createApiKey(input: { projectId: null, name: "root" }) { id } }', {}, a.key))).toBe('FORBIDDEN');
      expect(code(await gql(g.base, '{ apiKeys { id } }', {}, a.key))).toBe('FORBIDDEN');
      expect(code(await gql(g.base, 'mutation { createProject(input: { name: "mine" }) { id } }', {}, a.key))).toBe('FORBIDDEN');
      expect(code(await gql(g.base, 'mutation ($p: ID!) { createApiKey(input: { projectId: $p, name: "x" }) { id } }', { p: b.projectId }, a.key))).toBe('PROJECT_NOT_FOUND');
      expect(code(await gql(g.base, 'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', { id: b.id }, a.key))).toBe('API_KEY_NOT_FOUND');
      expect(code(await gql(g.base, 'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', { id: 'testadmin000' }, a.key))).toBe('API_KEY_NOT_FOUND');
      // The admin key can do all of it.
      const admin = await gql(g.base, 'mutation { createApiKey(input: { name: "second admin" }) { projectId key } }');
      expect(admin.body.data.createApiKey.projectId).toBeNull();
      const admins = await gql(g.base, '{ apiKeys { name projectId } }');
      expect(admins.body.data.apiKeys).toEqual(expect.arrayContaining([{ name: 'second admin', projectId: null }]));
      expect(code(await gql(g.base, 'mutation { createApiKey(input: { projectId: "missing", name: "x" }) { id } }'))).toBe('PROJECT_NOT_FOUND');
      expect(code(await gql(g.base, 'mutation { createApiKey(input: { projectId: null, name: " " }) { id } }'))).toBe('BAD_USER_INPUT');
    });
  });

  it('never keeps the key in the logs', async () => {
    const { key } = await projectWithKey('logs');
    await post({ query: '{ nope }' }, { authorization: `Bearer ${key}` });
    await post({ query: '{ __typename }' }, { authorization: `Bearer ${key}x` });
    await new Promise<void>((resolve) => httpGet(`${g.base}/runs/x/export.csv`, { headers: { authorization: `Bearer ${key}` } }, () => resolve()));
    expect(JSON.stringify(g.logger.lines)).not.toContain(key.split('_')[2]);
  });
});
