import { Database } from '@assay/database';
import { eventStoreMigrations, LogProcessor, PostgresEventStore } from '@assay/event-store';
import { startSystemProjections, SystemCommands, systemMigrations, SystemQueries } from '@assay/systems';
import { startTestsetProjections, TestsetCommands, testsetMigrations, TestsetQueries } from '@assay/testsets';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { RunCommands } from './commands/run-commands';
import { readModelMigrations } from './read-models/read-model-migrations';
import { startRunProjections } from './read-models/run-projections';
import { RunQueries } from './read-models/run-queries';
import type { RunCatalog } from './types';

/** Runs bound to the catalog (testsets and systems wired as the backend does) against a real PostgreSQL. */
describe('runs bound to a testset and a system version', () => {
  let database: TestDatabase;
  let db: Database;
  let store: PostgresEventStore;
  let backend: {
    runs: { commands: RunCommands; queries: RunQueries };
    testsets: { commands: TestsetCommands; queries: TestsetQueries };
    systems: { commands: SystemCommands; queries: SystemQueries };
  };
  let processors: LogProcessor[];

  beforeAll(async () => {
    database = await createTestDatabase('assay_catalog_runs');
    db = await Database.connect({
      url: database.url,
      migrations: [...eventStoreMigrations, ...readModelMigrations, ...testsetMigrations, ...systemMigrations],
      applicationName: 'catalog-runs-spec',
    });
    store = new PostgresEventStore(db);
    const runQueries = new RunQueries(db);
    const testsetQueries = new TestsetQueries(db);
    const systemQueries = new SystemQueries(db);
    const catalog: RunCatalog = {
      testset: (id) => testsetQueries.getTestset(id),
      systemVersion: (id) => systemQueries.getSystemVersion(id),
      testcasesOf: (testsetId, ids) => testsetQueries.testcasesOf(testsetId, ids),
    };
    backend = {
      runs: { commands: new RunCommands(store, runQueries, { catalog }), queries: runQueries },
      testsets: { commands: new TestsetCommands(store, testsetQueries), queries: testsetQueries },
      systems: { commands: new SystemCommands(store, systemQueries), queries: systemQueries },
    };
    processors = [
      startRunProjections({ db, store, bus: { broadcast: () => undefined }, pollIntervalMs: 50 }),
      startTestsetProjections({ db, store, pollIntervalMs: 50 }),
      startSystemProjections({ db, store, pollIntervalMs: 50 }),
    ];
  });

  afterAll(async () => {
    await Promise.all(processors.map((p) => p.stop()));
    await store.close();
    await db.close();
    await database.drop();
  });

  async function catalog(name: string) {
    const project = await backend.runs.commands.createProject({ name });
    const metric = await backend.runs.commands.createMetric({ projectId: project.id, name: 'exact', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH' } });
    const testset = await backend.testsets.commands.createTestset({ projectId: project.id, name: 'qa' });
    const testcases = await backend.testsets.commands.addTestcases(testset.id, [{ jsonData: { q: 1 } }, { jsonData: { q: 2 } }, { jsonData: { q: 3 } }]);
    const system = await backend.systems.commands.createSystem({ projectId: project.id, name: 'bot' });
    const version = await backend.systems.commands.createSystemVersion({ systemId: system.id, config: { messages: [{ role: 'user', content: '{{ inputs.q }}' }], modelName: 'm' } });
    return { project, metric, testset, testcases, version };
  }

  it('pins the testset size as numExpectedRecords and keeps the system version', async () => {
    const a = await catalog('a');
    const run = await backend.runs.commands.createRun({ projectId: a.project.id, metricIds: [a.metric.id], testsetId: a.testset.id, systemVersionId: a.version.id, notes: 'bound' });
    expect(run).toMatchObject({ testsetId: a.testset.id, systemVersionId: a.version.id, numExpectedRecords: 3 });
    // Later testcases do not change what the run expected.
    await backend.testsets.commands.addTestcases(a.testset.id, [{ jsonData: { q: 4 } }]);
    expect(await backend.runs.queries.getRun(run.id)).toMatchObject({ numExpectedRecords: 3 });
    const unbound = await backend.runs.commands.createRun({ projectId: a.project.id, metricIds: [a.metric.id] });
    expect(unbound).toMatchObject({ testsetId: null, systemVersionId: null, numExpectedRecords: null });
  });

  it('records of a bound run carry testcase ids of its testset or none; another id refuses the call and adds nothing', async () => {
    const a = await catalog('a2');
    const b = await catalog('b2');
    const run = await backend.runs.commands.createRun({ projectId: a.project.id, metricIds: [a.metric.id], testsetId: a.testset.id });
    const added = await backend.runs.commands.addRecords(run.id, [{ testcaseId: a.testcases[0].id, outputs: 1 }, { outputs: 2 }]);
    expect(added.map((r) => r.testcaseId)).toEqual([a.testcases[0].id, null]);
    for (const testcaseId of [b.testcases[0].id, 'made-up']) {
      await expect(backend.runs.commands.addRecords(run.id, [{ testcaseId: a.testcases[1].id }, { testcaseId }])).rejects.toMatchObject({ code: 'TESTCASE_NOT_FOUND' });
    }
    const deadline = Date.now() + 5000;
    while ((await backend.runs.queries.getRun(run.id))!.numRecords < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect((await backend.runs.queries.getRun(run.id))!.numRecords).toBe(2);
  });

  it('refuses a testset or system version of another project exactly like a missing one, creating nothing', async () => {
    const a = await catalog('a3');
    const b = await catalog('b3');
    const before = (await backend.runs.queries.listRuns(a.project.id, {})).items.length;
    const attempts: [Record<string, string>, string][] = [
      [{ testsetId: b.testset.id }, 'TESTSET_NOT_FOUND'],
      [{ testsetId: 'missing' }, 'TESTSET_NOT_FOUND'],
      [{ systemVersionId: b.version.id }, 'SYSTEM_VERSION_NOT_FOUND'],
      [{ systemVersionId: 'missing' }, 'SYSTEM_VERSION_NOT_FOUND'],
    ];
    for (const [extra, code] of attempts) {
      await expect(backend.runs.commands.createRun({ projectId: a.project.id, metricIds: [a.metric.id], ...extra })).rejects.toMatchObject({ code });
    }
    expect((await backend.runs.queries.listRuns(a.project.id, {})).items.length).toBe(before);
  });
});
