import { Database } from '@assay/database';
import { projectDecider, projectStreamId } from '@assay/domain';
import { eventStoreMigrations, LogProcessor, PostgresEventStore } from '@assay/event-store';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { SystemCommands } from './system-commands';
import { startSystemProjections, SystemQueries, systemMigrations } from './system-read-models';

describe('systems', () => {
  let database: TestDatabase;
  let db: Database;
  let store: PostgresEventStore;
  let projections: LogProcessor;
  let queries: SystemQueries;
  let commands: SystemCommands;

  beforeAll(async () => {
    database = await createTestDatabase('assay_systems');
    db = await Database.connect({ url: database.url, migrations: [...eventStoreMigrations, ...systemMigrations], applicationName: 'systems-spec' });
    store = new PostgresEventStore(db);
    projections = startSystemProjections({ store, db, pollIntervalMs: 50 });
    queries = new SystemQueries(db);
    commands = new SystemCommands(store, queries);
    for (const projectId of ['p1', 'p2']) {
      await store.append([{ streamId: projectStreamId(projectId), expectedVersion: 'no_stream', events: [...projectDecider.decide({ type: 'CreateProject', projectId, name: projectId }, { exists: false })] }]);
    }
  });

  afterAll(async () => {
    await projections.stop();
    await store.close();
    await db.close();
    await database.drop();
  });

  const prompt = { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '{{ inputs.question }}' }], modelName: 'gpt-4o-mini', temperature: 0, maxTokens: 200, topP: 1 };

  it('creates systems with names unique per project (case-insensitive), even when created at once', async () => {
    const system = await commands.createSystem({ projectId: 'p1', name: 'Support bot', description: 'answers tickets' });
    expect(system).toMatchObject({ projectId: 'p1', name: 'Support bot', description: 'answers tickets', productionVersionId: null });
    await expect(commands.createSystem({ projectId: 'p1', name: ' support BOT ' })).rejects.toMatchObject({ code: 'SYSTEM_NAME_TAKEN' });
    await expect(commands.createSystem({ projectId: 'p2', name: 'Support bot' })).resolves.toMatchObject({ projectId: 'p2' });
    const racing = await Promise.allSettled(Array.from({ length: 5 }, () => commands.createSystem({ projectId: 'p1', name: 'racer' })));
    expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(racing.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(4).fill('SYSTEM_NAME_TAKEN'));
    await expect(commands.createSystem({ projectId: 'nope', name: 'x' })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
    expect((await queries.listSystems('p1')).map((s) => s.name)).toEqual(['Support bot', 'racer']);
  });

  it('versions are immutable and deduplicated by canonical config; production points at one of them', async () => {
    const system = await commands.createSystem({ projectId: 'p1', name: 'versions' });
    const v1 = await commands.createSystemVersion({ systemId: system.id, name: 'baseline', config: prompt });
    expect(v1).toMatchObject({ systemId: system.id, projectId: 'p1', name: 'baseline', number: 1, config: prompt });
    const reordered = { topP: 1, maxTokens: 200, temperature: 0, modelName: 'gpt-4o-mini', messages: prompt.messages.map((m) => ({ content: m.content, role: m.role })) };
    const again = await commands.createSystemVersion({ systemId: system.id, name: 'ignored', config: reordered });
    expect(again.id).toBe(v1.id);
    const v2 = await commands.createSystemVersion({ systemId: system.id, config: { ...prompt, temperature: 0.7 } });
    expect(v2).toMatchObject({ name: 'v2', number: 2 });
    await expect(commands.createSystemVersion({ systemId: system.id, name: 'baseline', config: { ...prompt, temperature: 1 } })).rejects.toMatchObject({ code: 'SYSTEM_VERSION_NAME_TAKEN' });
    await expect(commands.createSystemVersion({ systemId: system.id, config: { messages: [{ role: 'user' }], modelName: 'm' } })).rejects.toMatchObject({
      code: 'SYSTEM_CONFIG_INVALID',
      details: { errors: [{ path: '/messages/0/content', message: "must have required property 'content'" }] },
    });
    await expect(commands.createSystemVersion({ systemId: 'missing', config: prompt })).rejects.toMatchObject({ code: 'SYSTEM_NOT_FOUND' });
    expect((await queries.listSystemVersions(system.id)).map((v) => v.name)).toEqual(['baseline', 'v2']);

    expect(await commands.setProductionVersion(system.id, v2.id)).toMatchObject({ productionVersionId: v2.id });
    const other = await commands.createSystem({ projectId: 'p1', name: 'other' });
    const foreign = await commands.createSystemVersion({ systemId: other.id, config: prompt });
    await expect(commands.setProductionVersion(system.id, foreign.id)).rejects.toMatchObject({ code: 'SYSTEM_VERSION_NOT_FOUND' });
    expect((await queries.getSystem(system.id))!.productionVersionId).toBe(v2.id);
  });
});
