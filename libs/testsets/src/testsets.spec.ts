import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { stringify as stringifyCsvSync } from 'csv-stringify/sync';
import { Database } from '@assay/database';
import { projectDecider, projectStreamId } from '@assay/domain';
import { eventStoreMigrations, LogProcessor, PostgresEventStore } from '@assay/event-store';
import { createTestDatabase, TestDatabase } from '@assay/testing';
import { ImportStoppedError, TestsetCommands } from './commands/testset-commands';
import { csvRows, csvStringifier, jsonlLines } from './import-export/export-rows';
import { ImportFormat, parseImport } from './import-export/parse-import';
import { testsetMigrations } from './read-models/testset-migrations';
import { startTestsetProjections } from './read-models/testset-projections';
import { TestsetQueries } from './read-models/testset-queries';
import { isNonStringField } from '@assay/domain';

/** Testsets against a real PostgreSQL: commands, the projector, imports and exports. */
describe('testsets', () => {
  let database: TestDatabase;
  let db: Database;
  let store: PostgresEventStore;
  let projections: LogProcessor;
  let queries: TestsetQueries;
  let commands: TestsetCommands;
  let projectId: string;

  beforeAll(async () => {
    database = await createTestDatabase('assay_testsets');
    db = await Database.connect({ url: database.url, migrations: [...eventStoreMigrations, ...testsetMigrations], applicationName: 'testsets-spec' });
    store = new PostgresEventStore(db);
    projections = startTestsetProjections({ store, db, pollIntervalMs: 50 });
    queries = new TestsetQueries(db);
    commands = new TestsetCommands(store, queries);
    projectId = 'p-1';
    const events = projectDecider.decide({ type: 'CreateProject', projectId, name: 'qa' }, projectDecider.initialState());
    await store.append([{ streamId: projectStreamId(projectId), expectedVersion: 'no_stream', events: [...events] }]);
  });

  afterAll(async () => {
    await projections.stop();
    await store.close();
    await db.close();
    await database.drop();
  });

  const qaSchema = {
    type: 'object',
    required: ['question', 'answer'],
    properties: { question: { type: 'string' }, answer: { type: 'string' }, difficulty: { type: 'integer' }, tags: { type: 'array' } },
  };

  async function importFile(testsetId: string, body: string | Buffer, format: ImportFormat, options: { maxBytes?: number; chunk?: number } = {}) {
    const testset = (await queries.getTestset(testsetId))!;
    const bytes = Buffer.from(body);
    const chunk = options.chunk ?? 64 * 1024;
    // Arbitrary chunk boundaries (inside quotes, inside multi-byte characters) as a socket would give.
    const source = Readable.from((function* () {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    })());
    const rows = parseImport(source, { format, maxBytes: options.maxBytes, isJsonColumn: (c) => isNonStringField(testset.jsonSchema, c) });
    return commands.importTestcases(testsetId, rows);
  }

  async function exportCsv(testsetId: string): Promise<string> {
    const testset = (await queries.getTestset(testsetId))!;
    const chunks: Buffer[] = [];
    await pipeline(csvRows(testset.fields, queries.streamTestcaseData(testsetId)), csvStringifier(), async function* (source) {
      for await (const c of source) chunks.push(Buffer.from(c));
    });
    return Buffer.concat(chunks).toString('utf8');
  }

  async function exportJsonl(testsetId: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of jsonlLines(queries.streamTestcaseData(testsetId))) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks).toString('utf8');
  }

  const newTestset = (extra: object = {}) =>
    commands.createTestset({ projectId, name: 'qa', jsonSchema: qaSchema, fieldMapping: { inputs: ['question'], expected: ['answer'] }, ...extra });

  it('creates a testset; an invalid schema is refused with its errors and nothing is created', async () => {
    const testset = await newTestset({ description: 'capitals' });
    expect(testset).toMatchObject({ projectId, name: 'qa', description: 'capitals', schemaRevision: 1, numTestcases: 0, fieldMapping: { inputs: ['question'], expected: ['answer'], metadata: [] } });
    const before = await queries.listTestsets(projectId);
    await expect(commands.createTestset({ projectId, name: 'bad', jsonSchema: { type: 'nope', properties: 5 } })).rejects.toMatchObject({
      code: 'JSON_SCHEMA_INVALID',
      details: { errors: expect.arrayContaining([expect.objectContaining({ path: expect.any(String), message: expect.any(String) })]) },
    });
    await expect(commands.createTestset({ projectId: 'nope', name: 'x' })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
    expect(await queries.listTestsets(projectId)).toHaveLength(before.length);
  });

  it('adds testcases: invalid ones are stored with their validation errors; mapping splits fields; pages', async () => {
    const testset = await newTestset();
    const added = await commands.addTestcases(testset.id, [
      { jsonData: { question: 'Capital of France?', answer: 'Paris', source: 'atlas' } },
      { jsonData: { question: 'Capital of Peru?', difficulty: 'hard' } },
      { jsonData: { question: 'q3', answer: 'a3' } },
    ]);
    expect(added[0]).toMatchObject({ inputs: { question: 'Capital of France?' }, expected: { answer: 'Paris' }, metadata: { source: 'atlas' }, validationErrors: [] });
    expect(added[1].validationErrors).toEqual([
      { path: '/answer', message: "must have required property 'answer'" },
      { path: '/difficulty', message: 'must be integer' },
    ]);
    const page1 = await queries.listTestcases(testset.id, { first: 2 });
    expect(page1.items.map((i) => i.node.id)).toEqual([added[0].id, added[1].id]);
    expect(page1.items[1].node.validationErrors).toHaveLength(2);
    const page2 = await queries.listTestcases(testset.id, { first: 2, after: page1.endCursor });
    expect(page2.items.map((i) => i.node.id)).toEqual([added[2].id]);
    expect(page2.hasNextPage).toBe(false);
    // A cursor that decodes but is not a testcases cursor: BAD_USER_INPUT, not a database error.
    for (const parts of [[], ['x'], [1.5], [-5], ['2025-01-01T00:00:00.000Z', 'run_x']]) {
      await expect(queries.listTestcases(testset.id, { after: Buffer.from(JSON.stringify(parts)).toString('base64url') })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        message: expect.stringContaining('pass an endCursor from a previous page of the same list'),
      });
    }
    expect((await queries.getTestset(testset.id))!.numTestcases).toBe(3);

    await expect(commands.addTestcases(testset.id, [{ jsonData: { question: 'ok', answer: 'ok' } }, { jsonData: 'not an object' }])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(commands.addTestcases(testset.id, Array.from({ length: 1001 }, () => ({ jsonData: {} })))).rejects.toMatchObject({ code: 'TOO_MANY_TESTCASES' });
    await expect(commands.addTestcases('missing', [{ jsonData: {} }])).rejects.toMatchObject({ code: 'TESTSET_NOT_FOUND' });
    expect((await queries.getTestset(testset.id))!.numTestcases).toBe(3);
  });

  it('a schema change without a new mapping drops mappings to removed fields, and testcases are checked against the new schema', async () => {
    const testset = await newTestset();
    const [tc] = await commands.addTestcases(testset.id, [{ jsonData: { question: 'q', answer: 'a' } }]);
    expect(tc.validationErrors).toEqual([]);
    const updated = await commands.updateTestset(testset.id, {
      jsonSchema: { type: 'object', required: ['prompt'], properties: { question: { type: 'string' }, prompt: { type: 'string' } } },
    });
    expect(updated.fieldMapping).toEqual({ inputs: ['question'], expected: [], metadata: [] });
    expect(updated.schemaRevision).toBe(2);
    const [node] = (await queries.listTestcases(testset.id, {})).items.map((i) => i.node);
    expect(node).toMatchObject({ inputs: { question: 'q' }, expected: {}, metadata: { answer: 'a' }, validationErrors: [{ path: '/prompt', message: "must have required property 'prompt'" }] });
    await expect(commands.updateTestset(testset.id, { fieldMapping: { inputs: ['answer'] } })).rejects.toMatchObject({ code: 'FIELD_MAPPING_INVALID' });
    await expect(commands.updateTestset('missing', { name: 'x' })).rejects.toMatchObject({ code: 'TESTSET_NOT_FOUND' });
  });

  const tricky = [
    { question: 'Capital of "France", the country?', answer: 'Paris' },
    { question: 'line one\nline two\r\nline three', answer: 'multi\nline' },
    { question: 'Ünïcödé 日本語 🚀 — “quotes”', answer: 'ok, with comma' },
    { question: '', answer: ' leading and trailing spaces ' },
    { question: '=1+1', answer: '-negative', difficulty: 3, tags: ['a', { b: [1, 2] }] },
    { question: 'tab\tinside', answer: 'semi;colon' },
  ];

  it('imports CSV with quotes, commas, newlines and Unicode; exports it back exactly', async () => {
    const testset = await newTestset();
    const original = stringifyCsvSync(
      [['question', 'answer', 'difficulty', 'tags'], ...tricky.map((t) => [t.question, t.answer, t.difficulty === undefined ? null : String(t.difficulty), t.tags ? JSON.stringify(t.tags) : null])],
      { record_delimiter: 'windows', quoted_match: [/^$/, /[\r\n]/] },
    );
    const summary = await importFile(testset.id, original, 'csv', { chunk: 7 });
    expect(summary).toMatchObject({ rowsRead: 6, rowsTaken: 6, created: 6, updated: 0, refusedCount: 0, invalid: 0 });
    const stored = (await queries.listTestcases(testset.id, {})).items.map((i) => i.node.jsonData);
    expect(stored).toEqual(tricky);

    const exported = await exportCsv(testset.id);
    const rows = parseCsvSync(exported, { relax_column_count: false }) as string[][];
    expect(rows[0]).toEqual(['id', 'question', 'answer', 'difficulty', 'tags']);
    // Without the id column, byte for byte the file that was imported.
    expect(exported.replace(/^[0-9a-f-]{36},/gm, '').replace(/^id,/, '')).toBe(original);
    expect(exported.split('\r\n').length).toBeGreaterThan(7);

    // Importing the export again updates by id: nothing changes.
    const again = await importFile(testset.id, exported, 'csv');
    expect(again).toMatchObject({ rowsTaken: 6, created: 0, updated: 0, unchanged: 6, refusedCount: 0 });
    expect(await exportCsv(testset.id)).toBe(exported);
  });

  it('reports a CSV row with the wrong number of columns by line and imports the rest', async () => {
    const testset = await newTestset();
    const file = 'question,answer\r\nq1,a1\r\nq2,a2,extra\r\n"multi\nline q3",a3\r\nq4\r\nq5,a5\r\n';
    const summary = await importFile(testset.id, file, 'csv');
    expect(summary).toMatchObject({ rowsRead: 5, rowsTaken: 3, created: 3, refusedCount: 2 });
    expect(summary.refused).toEqual([
      { line: 3, code: 'BAD_USER_INPUT', reason: expect.stringContaining('line 3: 3 columns where the header has 2') },
      { line: 6, code: 'BAD_USER_INPUT', reason: expect.stringContaining('line 6: 1 columns where the header has 2') },
    ]);
    expect((await queries.listTestcases(testset.id, {})).items.map((i) => i.node.jsonData.question)).toEqual(['q1', 'multi\nline q3', 'q5']);
  });

  it('imports TSV, JSON arrays and JSON Lines; JSONL exports back exactly; an id updates, an unknown id is refused', async () => {
    const tsv = await newTestset();
    const tsvSummary = await importFile(tsv.id, '\ufeffquestion\tanswer\nq1\t"a, \t""1"""\nq2\ta2\n', 'tsv');
    expect(tsvSummary).toMatchObject({ rowsTaken: 2, refusedCount: 0 });
    expect((await queries.listTestcases(tsv.id, {})).items.map((i) => i.node.jsonData)).toEqual([
      { question: 'q1', answer: 'a, \t"1"' },
      { question: 'q2', answer: 'a2' },
    ]);

    const json = await newTestset();
    const array = JSON.stringify(tricky, null, 2).replace('[', '[ \n') + '\n';
    const withBad = array.replace(/\]\s*$/, ', {"question": "broken",, }, 7, {"question":"last","answer":"[]{},\\"x"}]');
    const jsonSummary = await importFile(json.id, withBad, 'json', { chunk: 5 });
    expect(jsonSummary).toMatchObject({ rowsRead: 9, rowsTaken: 7, refusedCount: 2 });
    expect(jsonSummary.refused.map((r) => r.code)).toEqual(['INVALID_JSON', 'BAD_USER_INPUT']);
    const jsonData = (await queries.listTestcases(json.id, {})).items.map((i) => i.node.jsonData);
    expect(jsonData).toEqual([...tricky, { question: 'last', answer: '[]{},"x' }]);

    const jsonl = await newTestset();
    const lines = tricky.map((t) => JSON.stringify(t)).join('\n') + '\n';
    expect(await importFile(jsonl.id, lines + '{not json}\n\n[1]\n', 'jsonl', { chunk: 3 })).toMatchObject({
      rowsTaken: 6,
      refusedCount: 2,
      refused: [expect.objectContaining({ line: 7, code: 'INVALID_JSON' }), expect.objectContaining({ line: 9, code: 'BAD_USER_INPUT' })],
    });
    const exported = await exportJsonl(jsonl.id);
    expect(exported.replace(/^\{"id":"[^"]+",/gm, '{')).toBe(lines);

    // Edit one line of the export and import it again: that testcase is updated, the rest unchanged.
    const edited = exported.split('\n');
    edited[1] = edited[1].replace('"multi\\nline"', '"changed"');
    const unknown = '{"id":"00000000-0000-0000-0000-000000000000","question":"x"}';
    const again = await importFile(jsonl.id, [...edited.slice(0, -1), unknown, ''].join('\n'), 'jsonl');
    expect(again).toMatchObject({ rowsTaken: 6, created: 0, updated: 1, unchanged: 5, refusedCount: 1, refused: [expect.objectContaining({ line: 7, code: 'TESTCASE_NOT_FOUND' })] });
    expect((await queries.listTestcases(jsonl.id, {})).items[1].node.jsonData).toEqual({ question: tricky[1].question, answer: 'changed' });
    // A testcase id of another testset is refused the same way.
    const otherId = (await queries.listTestcases(tsv.id, {})).items[0].node.id;
    expect(await importFile(jsonl.id, JSON.stringify({ id: otherId, question: 'steal' }), 'jsonl')).toMatchObject({ rowsTaken: 0, refused: [expect.objectContaining({ code: 'TESTCASE_NOT_FOUND' })] });
  });

  it('stops an oversized file with PAYLOAD_TOO_LARGE; the summary says exactly what was imported', async () => {
    const testset = await newTestset();
    const file = 'question,answer\n' + Array.from({ length: 3000 }, (_, i) => `q${i},a${i}`).join('\n') + '\n';
    let stopped: ImportStoppedError | undefined;
    try {
      await importFile(testset.id, file, 'csv', { maxBytes: 30_000, chunk: 1024 });
    } catch (error) {
      stopped = error as ImportStoppedError;
    }
    expect(stopped).toBeInstanceOf(ImportStoppedError);
    expect(stopped!.cause).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const count = (await queries.getTestset(testset.id))!.numTestcases;
    expect(stopped!.summary.rowsTaken).toBe(count);
    // Every whole batch before the limit went in (rows are ~10 bytes: ~3,000 fit in 30,000 bytes).
    expect(count).toBe(2000);
  });

  it('imports and exports 100,000 rows (CSV and JSONL) in bounded memory', async () => {
    const testset = await newTestset();
    const n = 100_000;
    const header = 'question,answer,difficulty\r\n';
    const row = (i: number) => `"Question ${i}, with ""quotes"" and\nnewline ✓",answer ${i},${i % 5}\r\n`;
    const file = header + Array.from({ length: n }, (_, i) => row(i)).join('');
    const heapBefore = process.memoryUsage().heapUsed;
    let t = Date.now();
    const summary = await importFile(testset.id, file, 'csv');
    const importMs = Date.now() - t;
    expect(summary).toMatchObject({ rowsRead: n, rowsTaken: n, created: n, refusedCount: 0, invalid: 0 });
    t = Date.now();
    const exported = await exportCsv(testset.id);
    const exportMs = Date.now() - t;
    const lines = exported.split('\r\n');
    expect(lines.length).toBe(n + 2);
    expect(exported.replace(/^[0-9a-f-]{36},/gm, '').replace(/^id,/, '')).toBe(file);
    t = Date.now();
    const jsonl = await exportJsonl(testset.id);
    const jsonlMs = Date.now() - t;
    expect(jsonl.split('\n')).toHaveLength(n + 1);
    process.stdout.write(
      `100k rows (${(file.length / 1e6).toFixed(1)} MB CSV): import ${importMs} ms, CSV export ${exportMs} ms, JSONL export ${jsonlMs} ms; heap delta ${((process.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(0)} MB\n`,
    );
  }, 180_000);
});

describe('parseImport limits', () => {
  const read = async (format: ImportFormat, body: string) => {
    const bytes = Buffer.from(body);
    const source = Readable.from((function* () {
      for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
    })());
    const out: string[] = [];
    try {
      for await (const row of parseImport(source, { format, maxRowBytes: 100_000 })) out.push(row.kind === 'row' ? `row ${row.line}` : `refused ${row.line} ${row.code}`);
    } catch (error) {
      out.push(`stopped ${(error as { code?: string }).code}`);
    }
    return out;
  };
  const big = 'x'.repeat(300_000);

  it('refuses an over-long JSON line or array element and reads on', async () => {
    expect(await read('jsonl', `{"q":1}\n{"q":"${big}"}\n{"q":3}\n`)).toEqual(['row 1', 'refused 2 PAYLOAD_TOO_LARGE', 'row 3']);
    expect(await read('json', `[{"q":1},\n{"q":"${big}"},\n{"q":3}]`)).toEqual(['row 1', 'refused 2 PAYLOAD_TOO_LARGE', 'row 3']);
  });

  it('refuses a row nested deeper than the API takes (100 levels) with INVALID_JSON and reads on: JSON Lines, a JSON array, a CSV JSON column', async () => {
    // Before, such a testcase was stored, and every record made from it failed to score (INTERNAL).
    const deep = `${'['.repeat(150)}1${']'.repeat(150)}`;
    const fine = `${'['.repeat(99)}1${']'.repeat(99)}`;
    expect(await read('jsonl', `{"q":${fine}}\n{"q":${deep}}\n{"q":3}\n`)).toEqual(['row 1', 'refused 2 INVALID_JSON', 'row 3']);
    expect(await read('json', `[{"q":1},\n{"q":${deep}},\n{"q":3}]`)).toEqual(['row 1', 'refused 2 INVALID_JSON', 'row 3']);
    const rows: string[] = [];
    const source = Readable.from([`q,a\n1,x\n"${deep}",y\n`]);
    for await (const row of parseImport(source, { format: 'csv', isJsonColumn: (c) => c === 'q' })) {
      rows.push(row.kind === 'row' ? `row ${row.line}` : `refused ${row.line} ${row.code}: ${row.reason}`);
    }
    expect(rows).toEqual(['row 2', expect.stringMatching(/^refused 3 INVALID_JSON: line 3: \$\.q(\[0\]){99} nests objects and arrays more than 100 levels deep, the limit/)]);
  });

  it('stops at an over-long CSV row (its end cannot be found again reliably)', async () => {
    expect((await read('csv', `q,a\n1,2\n"${big}",3\n4,5\n`)).at(-1)).toBe('stopped PAYLOAD_TOO_LARGE');
  });

  it('reports CSV refusals in line order, among the rows', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${i},x`).join('\n');
    expect(await read('csv', `q,a\n${rows}\n1,"bad"quote",3\n51,y\n`)).toEqual([...Array.from({ length: 50 }, (_, i) => `row ${i + 2}`), 'refused 52 BAD_USER_INPUT', 'row 53']);
  });
});
